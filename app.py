"""Start the TrialQA web chat over the default corpus (index built on first run).

Host and port: TRIALQA_HOST (127.0.0.1) and TRIALQA_PORT (7860).
"""

import logging
import os

from trialqa.qa import TrialQA
from trialqa.ui import serve

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    qa = TrialQA.load()
    print(f"TrialQA: {len(qa.trials)} trials; index {qa.index_status}; uploads go to {qa.uploads_dir}")
    serve(qa, os.environ.get("TRIALQA_HOST", "127.0.0.1"), int(os.environ.get("TRIALQA_PORT", "7860")))
