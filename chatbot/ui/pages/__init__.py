"""Page scripts for `st.navigation` (run by Streamlit, not imported)."""
