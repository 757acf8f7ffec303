#pragma once
// The fields of a Chargify `signup_success` that a fulfilment needs (PROVIDERS.md
// "Chargify"), read from the decoded form.

#include <string>

#include "common/result.h"
#include "workers/chargify/form_tree.h"

namespace wi::chargify {

struct Signup {
  std::string webhook_id;       // form `id`
  std::string subscription_id;  // payload[subscription][id]
  std::string product_handle;   // payload[subscription][product][handle]
  std::string email;            // payload[subscription][customer][email], not yet validated
  std::string first_name;
  std::string last_name;
};

// Error::invalid naming the missing or unusable field. The e-mail address is only required to
// be present here; validate_email() decides whether it is usable.
Result<Signup> read_signup(const FormTree& form);

}  // namespace wi::chargify
