// The front door: every request but /healthz and CORS preflights must carry a valid bearer token.
// The gate authenticates (token hash -> user, cached until the record changes), decides slide rights
// for the tile routes (cached the same way, so a tile costs two hash lookups), audits reads and
// denials, and hands the request to TileService (slides) or RecordRoutes (the record, on its own pool).
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "http_types.h"
#include "record_routes.h"
#include "record_store.h"
#include "tile_service.h"

namespace reread {

class AccessGate {
 public:
  AccessGate(RecordStore& store, TileService& tiles, RecordRoutes& routes, boost::asio::thread_pool& record_pool);
  void handle(HttpRequest&& req, const RequestContext& ctx, Respond respond);

 private:
  struct SlideRights {
    std::uint64_t generation = 0;
    bool read = false, label = false;
    std::string reason;
  };
  std::optional<Principal> authenticate(const HttpRequest& req);
  SlideRights slide_rights(const Principal& who, const std::string& slide_id);
  // Tile reads are audited once per user, slide and hour.
  void audit_slide_read(const Principal& who, const std::string& slide_id, const RequestContext& ctx);
  void audit_async(AuditEntry e);

  RecordStore& store_;
  TileService& tiles_;
  RecordRoutes& routes_;
  boost::asio::thread_pool& record_pool_;
  static constexpr int kMaxPendingAudits = 10000;
  std::atomic<int> pending_audits_{0};
  std::atomic<std::uint64_t> dropped_audits_{0};

  std::shared_mutex mutex_;  // guards the three caches below
  struct CachedPrincipal {
    std::uint64_t generation = 0;
    std::optional<Principal> principal;
  };
  std::unordered_map<std::string, CachedPrincipal> principals_;  // by token hash (raw bytes)
  std::map<std::pair<std::int64_t, std::string>, SlideRights> rights_;
  std::map<std::pair<std::int64_t, std::string>, std::int64_t> audited_hour_;
};

}  // namespace reread
