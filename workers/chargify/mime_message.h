#pragma once
// Builds the RFC 5322 / MIME message chargify-worker sends:
//
//   From, To, Subject (RFC 2047 encoded words when not plain ASCII), Date, Message-ID,
//   MIME-Version, then either one text/plain; charset=UTF-8 part, or multipart/mixed with
//   the text part and the attachment (base64, Content-Disposition with its file name,
//   RFC 2231 for a non-ASCII name). Text is base64 too: any UTF-8, any line length, and no
//   line that starts with "." or "From " survives into the SMTP stream.
//
// Every line ends with CRLF. Header values come through safe_text() (no CR/LF injection).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace wi::chargify {

struct Attachment {
  std::string file_name;     // e.g. "book.pdf"
  std::string content_type;  // e.g. "application/pdf"
  std::string bytes;
};

struct MailContent {
  std::string from;        // a mailbox: "Shop <shop@example.com>" or "shop@example.com"
  std::string to_address;  // validated
  std::string to_name;     // display name, may be empty
  std::string subject;
  std::string text;
  std::string message_id;  // "id@domain", without the angle brackets
  SystemTime date;
  std::optional<Attachment> attachment;
};

// `boundary_token` makes the multipart boundary unique (e.g. random hex); it must be
// letters and digits.
std::string build_mime_message(const MailContent& content, std::string_view boundary_token);

// "=?UTF-8?B?...?=" encoded words (folded) when `text` is not printable ASCII, else `text`.
// `used`: the characters before the text on the header's first line (9 for "Subject: "), so
// that every line holding an encoded word is at most 76 characters (RFC 2047 section 2).
std::string encode_header_text(std::string_view text, std::size_t used = 0);
// RFC 5322 date: "Sat, 05 Dec 2026 10:05:32 +0000".
std::string rfc5322_date(SystemTime t);
// A MIME type for a file name's extension (application/octet-stream when unknown).
std::string content_type_for(std::string_view file_name);

}  // namespace wi::chargify
