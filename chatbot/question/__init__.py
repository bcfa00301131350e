"""The question stage: what is asked, before any passage is read (instructions, follow-up rewrites)."""
