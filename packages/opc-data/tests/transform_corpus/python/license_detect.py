# Detect the license of a Python distribution from its metadata.
#
# We look at the License field first, then at trove classifiers.
import email.parser
from pathlib import Path

LICENSE_FILES = ("LICENSE", "LICENSE.txt", "COPYING")
CLASSIFIER_PREFIX = "License :: OSI Approved :: "


def read_metadata(dist_info: Path):
    text = (dist_info / "METADATA").read_text(encoding="utf-8")
    return email.parser.Parser().parsestr(text)


def detect(dist_info: Path):
    meta = read_metadata(dist_info)
    if meta.get("License"):
        return meta["License"].strip()
    for value in meta.get_all("Classifier") or []:
        if value.startswith(CLASSIFIER_PREFIX):
            return value[len(CLASSIFIER_PREFIX):]
    for name in LICENSE_FILES:
        if (dist_info / name).exists():
            return "see " + name
    return None
