"""The OpenAI-compatible HTTP API (`python -m chatbot serve`).

    app.py        the FastAPI app factory and its three endpoints
    schemas.py    request parsing (messages → question + history) and response bodies
    streaming.py  one answer driven from the sync core in the threadpool, with a slot and a deadline
    guard.py      bearer keys, the rate limit and the body-size limit
    errors.py     OpenAI-style error objects; nothing else ever reaches a client
    server.py     binding rules and uvicorn

Standard clients (the `openai` package, LangChain's ChatOpenAI, promptfoo) read the answers
unchanged; the `ask --json` fields ride beside the standard ones.
"""

from chatbot.api.app import create_app

__all__ = ["create_app"]
