// build_mime_message: headers, RFC 2047 subjects, the base64 text part and the attachment,
// read back by splitting the message the way a mail reader does (the system tests parse real
// messages with Python's email package).
#include "workers/chargify/mime_message.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

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

// The physical lines of `header` ("Subject", "From", ...) in a message: its first line and
// its continuation lines, as sent.
std::vector<std::string> header_lines(const std::string& message, const std::string& header) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  bool in_header = false;
  while (pos < message.size()) {
    auto eol = message.find("\r\n", pos);
    if (eol == std::string::npos || eol == pos) break;  // the end of the headers
    std::string line = message.substr(pos, eol - pos);
    pos = eol + 2;
    if (line[0] == ' ' || line[0] == '\t') {
      if (in_header) out.push_back(line);
      continue;
    }
    in_header = line.rfind(header + ": ", 0) == 0;
    if (in_header) out.push_back(line);
  }
  return out;
}

// The text of encoded words, decoded by hand: the base64 of every "=?UTF-8?B?...?=" in order,
// each decoded and concatenated; `rest` gets what is left outside them.
std::string decode_words(const std::string& value, std::string* rest = nullptr) {
  std::string decoded;
  std::size_t pos = 0;
  while (true) {
    auto start = value.find("=?UTF-8?B?", pos);
    if (rest) *rest += value.substr(pos, start == std::string::npos ? start : start - pos);
    if (start == std::string::npos) break;
    auto end = value.find("?=", start + 10);
    if (end == std::string::npos) return "<unterminated word>";
    decoded += codec::base64_decode(value.substr(start + 10, end - start - 10)).value_or("<?>");
    pos = end + 2;
  }
  return decoded;
}

// RFC 2047 section 2: a line holding an encoded word is at most 76 characters, the header
// name included, and each word at most 75.
void expect_encoded_lines_fit(const std::vector<std::string>& lines, const std::string& what) {
  ASSERT_FALSE(lines.empty()) << what;
  for (const auto& line : lines) {
    if (line.find("=?UTF-8?B?") == std::string::npos) continue;
    EXPECT_LE(line.size(), 76u) << what << ": " << line;
    std::size_t pos = 0;
    while ((pos = line.find("=?UTF-8?B?", pos)) != std::string::npos) {
      auto end = line.find("?=", pos + 10);
      ASSERT_NE(end, std::string::npos) << line;
      EXPECT_LE(end + 2 - pos, 75u) << line;
      pos = end + 2;
    }
  }
}

TEST(ChargifyMimeMessage, EveryEncodedSubjectLineFitsIn76CharactersAndDecodesBack) {
  for (std::size_t length = 1; length <= 200; ++length) {
    for (const std::string& special : {std::string("\xC3\xBC"), std::string("\xF0\x9F\x93\x9A")}) {
      for (std::size_t at : {std::size_t(0), length / 2, length}) {
        auto c = content();
        c.subject = std::string(length, 'a');
        for (std::size_t i = 0; i < length; i += 7) c.subject[i] = 'x';
        c.subject.insert(at, special);
        auto message = build_mime_message(c, "b1");
        auto lines = header_lines(message, "Subject");
        const std::string what = "length " + std::to_string(length) + " at " + std::to_string(at);
        expect_encoded_lines_fit(lines, what);
        std::string unfolded = lines.at(0).substr(9);
        for (std::size_t i = 1; i < lines.size(); ++i) unfolded += lines[i];
        std::string rest;
        EXPECT_EQ(decode_words(unfolded, &rest), c.subject) << what;
        EXPECT_EQ(rest.find_first_not_of(' '), std::string::npos) << what << ": " << rest;
      }
    }
  }
}

TEST(ChargifyMimeMessage, EmojiSubjectsSplitOnlyBetweenCharacters) {
  const std::string emoji = "\xF0\x9F\x93\x9A";  // U+1F4DA, 4 bytes
  for (std::size_t count = 1; count <= 60; ++count) {
    auto c = content();
    c.subject.clear();
    for (std::size_t i = 0; i < count; ++i) c.subject += emoji;
    auto message = build_mime_message(c, "b1");
    auto lines = header_lines(message, "Subject");
    expect_encoded_lines_fit(lines, std::to_string(count) + " emoji");
    std::string unfolded = lines.at(0).substr(9);
    for (std::size_t i = 1; i < lines.size(); ++i) unfolded += lines[i];
    // Each word on its own decodes to whole emoji.
    std::string decoded;
    std::size_t pos = 0;
    while ((pos = unfolded.find("=?UTF-8?B?", pos)) != std::string::npos) {
      auto end = unfolded.find("?=", pos + 10);
      ASSERT_NE(end, std::string::npos);
      auto word = codec::base64_decode(unfolded.substr(pos + 10, end - pos - 10)).value_or("?");
      EXPECT_FALSE(word.empty());
      EXPECT_EQ(word.size() % 4, 0u) << "a word splits a character";
      decoded += word;
      pos = end + 2;
    }
    EXPECT_EQ(decoded, c.subject);
  }
}

TEST(ChargifyMimeMessage, EncodedDisplayNamesFitIn76CharactersToo) {
  for (std::size_t length = 1; length <= 120; length += 3) {
    auto c = content();
    std::string name = "J\xC3\xB6rg " + std::string(length, 'n');
    c.from = name + " <shop-with-a-rather-long-mailbox-name@example.com>";
    c.to_name = name;
    c.to_address = "recipient-with-a-long-local-part@example.com";
    auto message = build_mime_message(c, "b1");
    for (const std::string header : {"From", "To"}) {
      auto lines = header_lines(message, header);
      expect_encoded_lines_fit(lines, header + " " + std::to_string(length));
      std::string unfolded = lines.at(0).substr(header.size() + 2);
      for (std::size_t i = 1; i < lines.size(); ++i) unfolded += lines[i];
      std::string rest;
      EXPECT_EQ(decode_words(unfolded, &rest), name) << header;
      const std::string address = header == "From"
                                      ? "<shop-with-a-rather-long-mailbox-name@example.com>"
                                      : "<recipient-with-a-long-local-part@example.com>";
      // What is left is the address after the folding whitespace.
      EXPECT_EQ(rest.substr(rest.find_first_not_of(' ')), address) << header << ": " << rest;
    }
  }
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
