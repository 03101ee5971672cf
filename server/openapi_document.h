// The OpenAPI 3 document of the server's API (server/api/openapi.json), built into the program.
#pragma once

#include <string_view>

namespace reread {

std::string_view openapi_document();

}  // namespace reread
