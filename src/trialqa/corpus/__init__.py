"""Reading trial records: ClinicalTrials.gov API v2 JSON, legacy XML, NLI4CT reports and registry-page text.

``load_corpus(path)`` reads a file or a directory tree. The format is detected from content. Every
field and criterion keeps its span in the source file (see ``spans.MappedText``). A bad file raises
``CorpusError`` naming the file and the reason; in a directory the bad files are collected in
``Corpus.errors`` and the good ones still load.
"""

from ..sources import decode_bytes, detect_format, read_text, span_text, unescape_markdown
from .load import Corpus, iter_record_files, load_corpus, read_records

__all__ = ["Corpus", "decode_bytes", "detect_format", "iter_record_files", "load_corpus", "read_records",
           "read_text", "span_text", "unescape_markdown"]
