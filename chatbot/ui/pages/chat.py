"""The public chat page (a page script for st.navigation; the code is in chatbot.ui.chat)."""

from chatbot.ui.chat import main

main()
