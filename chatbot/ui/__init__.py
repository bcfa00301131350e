"""Streamlit helpers of the chat app (the only place besides chatbot/app.py that imports streamlit)."""
