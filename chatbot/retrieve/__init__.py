"""The retrieval stage: the chunk store in Chroma (`store`), the embedders (`embedders`), the BM25
shards written at ingest (`shards`, searched together by `sharded_index`), English questions mapped to
the report's words (`bilingual`), and the hybrid retriever that fuses them (`retriever`)."""
