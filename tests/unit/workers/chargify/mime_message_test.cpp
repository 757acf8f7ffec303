// build_mime_message: headers, RFC 2047 subjects, the base64 text part and the attachment,
// read back by splitting the message the way a mail reader does (the system tests parse real
// messages with Python's email package).
#include "workers/chargify/mime_message.h"

#include <gtest/gtest.h>

#include <map>

#include "common/codec.h"

namespace wi::chargify {
namespace {

struct Part {
  std::map<std::string, std::string> headers;  // lowercase names, unfolded
  std::string body;
};

// Headers up to the first empty line (folded lines joined), then the body.
Part split(const std::string& text) {
  Part p;
  auto end = text.find("\r\n\r\n");
  std::string head = text.substr(0, end);
  p.body = end == std::string::npos ? "" : text.substr(end + 4);
  std::string last;
  std::size_t pos = 0;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    std::string line = head.substr(pos, eol == std::string::npos ? eol : eol - pos);
    pos = eol == std::string::npos ? head.size() : eol + 2;
    if (!line.empty() && line[0] == ' ') {
      p.headers[last] += line;
      continue;
    }
    auto colon = line.find(':');
    last = line.substr(0, colon);
    for (auto& c : last) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    p.headers[last] = line.substr(colon + 2);
  }
  return p;
}

std::string unbase64(std::string text) {
  std::string joined;
  for (char c : text) {
    if (c != '\r' && c != '\n') joined += c;
  }
  return codec::base64_decode(joined).value_or("<not base64>");
}

MailContent content() {
  MailContent c;
  c.from = "Shop <shop@example.com>";
  c.to_address = "ada@example.com";
  c.to_name = "Ada Lovelace";
  c.subject = "Your copy of The Book";
  c.text = "Hello Ada,\nhere it is.\n.\nA line starting with a dot.";
  c.message_id = "0123abcd@example.com";
  c.date = SystemTime(std::chrono::seconds(1795743350));  // 2026-11-27T01:35:50Z, a Friday
  return c;
}

TEST(ChargifyMimeMessage, TextOnlyMessageHasTheHeadersAndABase64UtfPart) {
  auto message = build_mime_message(content(), "b1");
  auto p = split(message);
  EXPECT_EQ(p.headers["from"], "\"Shop\" <shop@example.com>");
  EXPECT_EQ(p.headers["to"], "\"Ada Lovelace\" <ada@example.com>");
  EXPECT_EQ(p.headers["subject"], "Your copy of The Book");
  EXPECT_EQ(p.headers["date"], "Fri, 27 Nov 2026 01:35:50 +0000");
  EXPECT_EQ(p.headers["message-id"], "<0123abcd@example.com>");
  EXPECT_EQ(p.headers["mime-version"], "1.0");
  EXPECT_EQ(p.headers["content-type"], "text/plain; charset=UTF-8");
  EXPECT_EQ(p.headers["content-transfer-encoding"], "base64");
  EXPECT_EQ(unbase64(p.body),
            "Hello Ada,\r\nhere it is.\r\n.\r\nA line starting with a dot.");
  // Every line ends with CRLF and none is longer than 78 characters.
  std::size_t pos = 0;
  while (pos < message.size()) {
    auto eol = message.find("\r\n", pos);
    ASSERT_NE(eol, std::string::npos) << "last line without CRLF";
    EXPECT_LE(eol - pos, 78u);
    EXPECT_EQ(message.substr(pos, eol - pos).find('\n'), std::string::npos);
    pos = eol + 2;
  }
}

TEST(ChargifyMimeMessage, NonAsciiSubjectIsEncodedWordsThatDecodeBack) {
  auto c = content();
  c.subject = "Votre exemplaire de « L'Été » — merci, José ! Ünïcödé and a long tail of text";
  auto p = split(build_mime_message(c, "b1"));
  const std::string& subject = p.headers["subject"];
  ASSERT_EQ(subject.rfind("=?UTF-8?B?", 0), 0u) << subject;
  std::string decoded;
  std::size_t pos = 0;
  int words = 0;
  while ((pos = subject.find("=?UTF-8?B?", pos)) != std::string::npos) {
    auto end = subject.find("?=", pos + 10);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end + 2 - pos, 75u);  // RFC 2047: an encoded word is at most 75 characters
    decoded += codec::base64_decode(subject.substr(pos + 10, end - pos - 10)).value_or("?");
    pos = end + 2;
    ++words;
  }
  EXPECT_GT(words, 1);
  EXPECT_EQ(decoded, c.subject);
}

TEST(ChargifyMimeMessage, HeaderValuesCannotInjectHeaders) {
  auto c = content();
  c.subject = "Hi\r\nBcc: victim@example.com";
  c.to_name = "Eve\nX-Evil: 1";
  auto message = build_mime_message(c, "b1");
  EXPECT_EQ(message.find("\r\nBcc:"), std::string::npos);
  EXPECT_EQ(message.find("\nX-Evil"), std::string::npos);
}

TEST(ChargifyMimeMessage, AttachmentIsABase64PartWithItsFileName) {
  auto c = content();
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes += static_cast<char>(i % 256);
  c.attachment = Attachment{"book.pdf", "application/pdf", bytes};
  auto top = split(build_mime_message(c, "f00d"));
  EXPECT_EQ(top.headers["content-type"], "multipart/mixed; boundary=\"=_wi_f00d\"");
  // Split the body at the boundary lines.
  std::vector<std::string> parts;
  const std::string delimiter = "--=_wi_f00d";
  std::size_t pos = top.body.find(delimiter);
  ASSERT_NE(pos, std::string::npos);
  while (true) {
    pos += delimiter.size();
    if (top.body.compare(pos, 2, "--") == 0) break;  // the closing delimiter
    auto next = top.body.find("\r\n" + delimiter, pos);
    ASSERT_NE(next, std::string::npos);
    parts.push_back(top.body.substr(pos + 2, next - pos));  // skip the CRLF after the boundary
    pos = next + 2;
  }
  ASSERT_EQ(parts.size(), 2u);
  auto text = split(parts[0]);
  EXPECT_EQ(text.headers["content-type"], "text/plain; charset=UTF-8");
  EXPECT_EQ(unbase64(text.body), "Hello Ada,\r\nhere it is.\r\n.\r\nA line starting with a dot.");
  auto file = split(parts[1]);
  EXPECT_EQ(file.headers["content-type"], "application/pdf; name=\"book.pdf\"");
  EXPECT_EQ(file.headers["content-disposition"], "attachment; filename=\"book.pdf\"");
  EXPECT_EQ(file.headers["content-transfer-encoding"], "base64");
  EXPECT_EQ(unbase64(file.body), bytes);
}

TEST(ChargifyMimeMessage, NonAsciiFileNameUsesRfc2231) {
  auto c = content();
  c.attachment = Attachment{"Été.pdf", "application/pdf", "x"};
  auto message = build_mime_message(c, "b1");
  EXPECT_NE(message.find("filename*=UTF-8''%C3%89t%C3%A9.pdf"), std::string::npos);
}

TEST(ChargifyMimeMessage, ContentTypesByExtension) {
  EXPECT_EQ(content_type_for("a.PDF"), "application/pdf");
  EXPECT_EQ(content_type_for("a.epub"), "application/epub+zip");
  EXPECT_EQ(content_type_for("archive"), "application/octet-stream");
}

}  // namespace
}  // namespace wi::chargify
