"""The public figures page (a page script for st.navigation; the code is in chatbot.ui.figures)."""

from chatbot.ui.figures import main

main()
