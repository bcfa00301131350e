"""The staff page (a page script for st.navigation; the code is in chatbot.ui.staff)."""

from chatbot.ui.staff import main

main()
