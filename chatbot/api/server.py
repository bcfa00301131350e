"""`python -m chatbot serve`: the binding rules, then uvicorn.

Without `CHATBOT_API_KEYS` anyone who can reach the port could use the API, so the server
then binds loopback addresses only (127.0.0.0/8, ::1, localhost) and says so at start.
"""

from __future__ import annotations

import ipaddress
import logging
import sys

from chatbot.errors import ChatbotError
from chatbot.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to a public address
        return False


def check_binding(host: str, settings: Settings) -> str:
    """The start message for this binding; ChatbotError if it would expose an open API."""
    if settings.api_key_list:
        return f"{len(settings.api_key_list)} API key(s) configured: clients send `Authorization: Bearer KEY`."
    if not is_loopback(host):
        raise ChatbotError(
            f"Refusing to serve on {host} without API keys: anyone reaching it could use the API. "
            "Set CHATBOT_API_KEYS, or bind a loopback address (--host 127.0.0.1)."
        )
    return "No CHATBOT_API_KEYS set: serving without authentication, on loopback only."


def serve(host: str, port: int, settings: Settings | None = None) -> int:
    import uvicorn

    from chatbot.api.app import create_app
    from chatbot.launch import open_chatbot

    settings = settings or get_settings()
    print(check_binding(host, settings), file=sys.stderr)
    bot = open_chatbot(settings, serves_visitors=True)
    try:
        app = create_app(bot, settings)
        models = ", ".join(choice.label for choice in settings.public_choices)
        print(f"OpenAI-compatible API on http://{host}:{port}/v1 (models: {models}); Ctrl-C stops it.", file=sys.stderr)
        uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, ws="none", lifespan="off")
    finally:
        bot.close()
    return 0
