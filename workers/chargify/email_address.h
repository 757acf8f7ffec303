#pragma once
// Checking a customer's e-mail address before anything is sent: a bad address is a dead
// letter (SPEC §5), not a bounce hours later, and never a way to inject SMTP commands or
// headers. Deliberately the common subset of RFC 5321 that mail servers accept: ASCII
// (SMTPUTF8 addresses are refused), a dot-atom local part, a dotted domain of letters, digits
// and hyphens.

#include <string>
#include <string_view>

#include "common/result.h"

namespace wi::chargify {

// The address itself (surrounding spaces trimmed), or Error::invalid saying what is wrong
// (without repeating the address: it is personal data).
Result<std::string> validate_email(std::string_view address);

// The address part of "Name <addr@example.com>" or of a bare "addr@example.com" (for
// SMTP_FROM), validated like a customer address.
Result<std::string> mailbox_address(std::string_view mailbox);

}  // namespace wi::chargify
