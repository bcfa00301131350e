"""The report's figures at a glance: extracted from every passage at ingest, checked by the claim checker.

`extract` finds the figures of one passage (`extract.py`); `table` reads them back from the store
and checks each against its passage (`table.py`). The CLI (`python -m chatbot figures`) and the
web page (`chatbot/ui/figures.py`) show the same rows.
"""
