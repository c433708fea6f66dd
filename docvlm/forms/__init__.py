"""The form model: a small transformer tagging a page's anchor words with schema keys."""
