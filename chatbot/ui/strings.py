"""Every string of the UI, in one dict per language. `t(lang, key, **values)` looks one up.

Nothing here names a report: the title and intro are filled from the stored documents'
metadata by `report_heading` (one report by name, several listed, none with how to add one).
"""

from __future__ import annotations

from collections.abc import Mapping

from chatbot.reports import report_name, report_title

LANGS = {"zh": "中文", "en": "English"}

EXAMPLES = [
    "送快递的小哥有没有工伤保障？",
    "今年GDP增长目标是多少？",
    "孩子放学后学校管不管？",
    "What is this year's GDP growth target?",
]

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "page_title": "政府工作报告问答",
        "title": "{report}政府工作报告问答",
        "title_many": "政府工作报告问答（{n} 份报告）",
        "title_none": "政府工作报告问答",
        "intro": "根据《{title}》回答问题，每句话都标注出处 [n]，可以点开原文核对。",
        "intro_many": "知识库中有 {n} 份报告：{titles}。问题提到城市或年份时，只检索对应的报告；每句话都标注出处 [n]，可以点开原文核对。",
        "intro_none": "知识库中还没有报告。请先导入：python -m ingest 报告文件或文件夹（每份报告旁放一个同名 .meta.json，写明标题、城市和年份）。",
        "chat_banner": "{heading}。输入问题，空行或 Ctrl-D 退出，/new 开始新对话。",
        "placeholder": "输入你的问题……",
        "loading": "正在加载报告索引（首次启动需要建立索引，约十几秒）……",
        "thinking": "正在检索报告……",
        "understood_as": "理解为：",
        "refused": "报告中没有相关内容。",
        "refused_detail": "机器人的回答：",
        "closest": "最接近的段落（仅供参考）",
        "sources": "来源",
        "page": "第{page}版",
        "open_full": "在原文中查看",
        "full_text_title": "报告原文",
        "full_text_caption": "已定位到引用的段落（黄色高亮）。",
        "unverified": "⚠ 未核实",
        "unverified_note": "标有“⚠ 未核实”的句子没有得到引用段落的支持（原因见标记）。无法核实的数字：{figures}",
        "backend_failed": "所选的模型后端不可用，已改用离线摘录答案。",
        "backend_unavailable": "后端“{backend}”不可用：{detail}",
        "error_generic": "出了点问题，没能回答这个问题。请稍后再试，或换一种问法。",
        "answer_meta": "后端：{backend}{model} · {ms:.0f} 毫秒",
        "fallback_meta": "（已回退到离线摘录）",
        "feedback_saved": "已记录你的反馈，谢谢！",
        "comment": "补充说明（可选）",
        "comment_placeholder": "哪里不对？正确答案应该是……",
        "save_comment": "提交说明",
        "comment_saved": "说明已保存。",
        # sidebar
        "settings": "设置",
        "language": "界面语言 / Language",
        "backend": "回答方式",
        "backend_extractive": "离线摘录（无需模型）",
        "backend_openai": "OpenAI 兼容接口",
        "backend_ollama": "Ollama 本地模型",
        "model": "模型",
        "base_url": "接口地址（Base URL）",
        "api_key": "API 密钥（可选）",
        "status_ok": ":green[●] 可用：{detail}",
        "status_down": ":red[●] 不可用：{detail}",
        "status_na": ":gray[●] 不可用（未安装）：{detail}",
        "top_k": "检索段落数（top-k）",
        "new_chat": "新对话",
        "examples": "示例问题",
        "store": "知识库",
        "store_docs": "文档：{n} 份",
        "store_chunks": "段落：{n} 个",
        "store_embedder": "向量模型：{id}",
        "export_chat": "导出对话（Markdown）",
        "export_feedback": "导出反馈（QA JSONL）",
        "feedback_count": "已收集反馈：{n} 条",
        "store_error": "知识库无法加载：{error}",
    },
    "en": {
        "page_title": "Government work report Q&A",
        "title": "{report} Government Work Report Q&A",
        "title_many": "Government Work Reports Q&A ({n} reports)",
        "title_none": "Government Work Report Q&A",
        "intro": "Answers come from the {title}. Every sentence cites its source [n]; open it to check.",
        "intro_many": "The knowledge base holds {n} reports: {titles}. A question naming a city or a year searches that report only. Every sentence cites its source [n]; open it to check.",
        "intro_none": "The knowledge base holds no report yet. Add one: python -m ingest FILE_OR_FOLDER (with a NAME.meta.json beside each report giving its title, city and year).",
        "chat_banner": "{heading}. Type a question; an empty line or Ctrl-D quits, /new starts over.",
        "placeholder": "Ask a question…",
        "loading": "Loading the report index (the first start builds it, about ten seconds)…",
        "thinking": "Searching the report…",
        "understood_as": "Understood as: ",
        "refused": "The report has nothing on this.",
        "refused_detail": "The bot said: ",
        "closest": "Closest passages (for reference only)",
        "sources": "Sources",
        "page": "page {page}",
        "open_full": "Show in full text",
        "full_text_title": "Full report text",
        "full_text_caption": "Scrolled to the cited passage (highlighted in yellow).",
        "unverified": "⚠ unverified",
        "unverified_note": "Sentences marked “⚠ unverified” are not supported by the cited passages (the badge says why). Figures not found: {figures}",
        "backend_failed": "The chosen model backend failed; showing the offline extractive answer instead.",
        "backend_unavailable": "Backend “{backend}” is not available: {detail}",
        "error_generic": "Something went wrong and the question could not be answered. Please try again or rephrase it.",
        "answer_meta": "Backend: {backend}{model} · {ms:.0f} ms",
        "fallback_meta": " (fell back to offline extraction)",
        "feedback_saved": "Thanks, your feedback is recorded.",
        "comment": "Comment (optional)",
        "comment_placeholder": "What is wrong? The right answer is…",
        "save_comment": "Send comment",
        "comment_saved": "Comment saved.",
        "settings": "Settings",
        "language": "界面语言 / Language",
        "backend": "Answer backend",
        "backend_extractive": "Offline extractive (no model)",
        "backend_openai": "OpenAI-compatible API",
        "backend_ollama": "Ollama (local model)",
        "model": "Model",
        "base_url": "Base URL",
        "api_key": "API key (optional)",
        "status_ok": ":green[●] Reachable: {detail}",
        "status_down": ":red[●] Unreachable: {detail}",
        "status_na": ":gray[●] Not available (not installed): {detail}",
        "top_k": "Passages retrieved (top-k)",
        "new_chat": "New conversation",
        "examples": "Example questions",
        "store": "Knowledge base",
        "store_docs": "Documents: {n}",
        "store_chunks": "Chunks: {n}",
        "store_embedder": "Embedder: {id}",
        "export_chat": "Export conversation (Markdown)",
        "export_feedback": "Export feedback (QA JSONL)",
        "feedback_count": "Feedback collected: {n}",
        "store_error": "The knowledge base cannot be loaded: {error}",
    },
}


def t(lang: str, key: str, **values: object) -> str:
    table = STRINGS.get(lang, STRINGS["zh"])
    text = table.get(key) or STRINGS["zh"][key]
    return text.format(**values) if values else text


def report_heading(lang: str, documents: Mapping[str, Mapping]) -> tuple[str, str]:
    """(title, intro) for the stored reports, from their metadata only."""
    metas = list(documents.values())
    if not metas:
        return t(lang, "title_none"), t(lang, "intro_none")
    if len(metas) == 1:
        return t(lang, "title", report=report_name(metas[0], lang)), t(lang, "intro", title=report_title(metas[0], lang))
    titles = ("; " if lang == "en" else "；").join(report_title(m, lang) for m in metas)
    return t(lang, "title_many", n=len(metas)), t(lang, "intro_many", n=len(metas), titles=titles)
