#!/usr/bin/python3
"""Reads e-mails back the way a mail client does, for chargify-worker's system tests.

    chargify_mail_reader.py FILE.eml...

Prints one JSON array, one object per file, parsed with Python's `email` package (policy
`default`): headers decoded (RFC 2047), the text/plain body decoded, each attachment's file
name, type, size and SHA-256, and every defect the parser found. The text's CRLF line
breaks (MIME canonical form) are shown as LF.
"""

import email
import email.policy
import email.utils
import hashlib
import json
import sys


def read(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    defects = [type(d).__name__ for d in msg.defects]
    out = {
        "file": path,
        "from": str(msg["From"] or ""),
        "to": str(msg["To"] or ""),
        "to_addresses": [a for _, a in email.utils.getaddresses([str(msg["To"] or "")])],
        "subject": str(msg["Subject"] or ""),
        "message_id": str(msg["Message-ID"] or ""),
        "date": str(msg["Date"] or ""),
        "date_ok": False,
        "mime_version": str(msg["MIME-Version"] or ""),
        "content_type": msg.get_content_type(),
        "text": "",
        "text_charset": "",
        "attachments": [],
        "defects": defects,
    }
    try:
        out["date_ok"] = email.utils.parsedate_to_datetime(out["date"]) is not None
    except (TypeError, ValueError):
        pass
    body = msg.get_body(preferencelist=("plain",))
    if body is not None:
        # Text travels in canonical form (CRLF line breaks, RFC 2045); show it as a reader does.
        out["text"] = body.get_content().replace("\r\n", "\n")
        out["text_charset"] = body.get_content_charset() or ""
        defects.extend(type(d).__name__ for d in body.defects)
    for part in msg.iter_attachments():
        data = part.get_content()
        if isinstance(data, str):
            data = data.encode("utf-8")
        defects.extend(type(d).__name__ for d in part.defects)
        out["attachments"].append({
            "filename": part.get_filename() or "",
            "content_type": part.get_content_type(),
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        })
    return out


if __name__ == "__main__":
    json.dump([read(p) for p in sys.argv[1:]], sys.stdout)
    sys.stdout.write("\n")
