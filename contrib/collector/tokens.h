// tokens.h: the mirrors' bearer tokens. A token is shown once, when it is made; the collector
// stores only its SHA-256, so a leaked database reveals no token.
#pragma once

#include <string>
#include <string_view>

namespace collector {

// "wsa_" + 43 characters of base64url: 256 random bits from OpenSSL's CSPRNG. Throws
// std::runtime_error if the generator fails.
std::string new_token();

// Lower-case hex SHA-256 of the token: what the database keeps and looks up.
std::string token_hash(std::string_view token);

} // namespace collector
