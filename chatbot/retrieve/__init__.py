"""The retrieval stage: the chunk store in Chroma (`store`), the embedders (`embedders`), BM25 over
Chinese words (`lexical`), English questions mapped to the report's words (`bilingual`), and the hybrid
retriever that fuses them (`retriever`)."""
