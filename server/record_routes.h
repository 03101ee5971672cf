// The record's REST API under /api: users and tokens, cases, the consult report, annotations and their
// interchange formats, the audit log. A table of routes (method + path template) is the one list the
// dispatcher, the OpenAPI document and its test share. Handlers run on the record's thread pool and
// may block on SQLite; every rights decision goes through access_policy.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "case_record.h"
#include "http_types.h"
#include "record_store.h"

namespace reread {

class SlideCatalog;

struct RouteSpec {
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  std::string path;    // OpenAPI path template, e.g. /api/cases/{case_id}
  bool public_route = false;
};

// Everything the server answers: the record's routes and the slide routes of TileService.
const std::vector<RouteSpec>& server_routes();

struct RecordRoutesOptions {
  std::string openapi;  // the OpenAPI document served at /api/openapi.json
};

class RecordRoutes {
 public:
  RecordRoutes(RecordStore& store, const SlideCatalog& catalog, RecordRoutesOptions options);
  // True when the path is one of the record's (under /api, not /api/slides...).
  static bool owns(std::string_view path);
  // Answers one authenticated request. Never throws.
  HttpResponse handle(const HttpRequest& req, const Principal& who, const RequestContext& ctx);

 private:
  struct Call;
  HttpResponse dispatch(Call& call);
  RecordStore& store_;
  const SlideCatalog& catalog_;
  std::string openapi_;
};

}  // namespace reread
