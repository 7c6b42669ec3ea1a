"""Where PASS is published: Zenodo record 6615455. Every message that says "re-download" points here."""

RECORD_URL = "https://zenodo.org/record/6615455"


def file_url(name: str) -> str:
  return f"{RECORD_URL}/files/{name}"
