// The record's SQLite schema, as Database::migrate applies it.
#pragma once

#include <string>
#include <vector>

namespace reread {

const std::vector<std::string>& record_migrations();

}  // namespace reread
