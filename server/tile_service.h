// Everything the server answers: slide metadata, DeepZoom, IIIF Image API 3, thumbnails,
// associated images, health and metrics. Parsing and checks happen on the I/O thread; reading,
// decoding and encoding go to the worker pool through the tile cache.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "http_types.h"
#include "metrics.h"
#include "slide_catalog.h"
#include "tile_cache.h"

namespace reread {

struct TileServiceOptions {
  int jpeg_quality = 80;
  std::int64_t iiif_max_width = 8192, iiif_max_height = 8192, iiif_max_area = 8192LL * 8192;
  int thumbnail_max = 2048;
};

class TileService {
 public:
  TileService(SlideCatalog& catalog, TileCache& cache, Metrics& metrics, boost::asio::thread_pool& workers,
              TileServiceOptions options = {});
  void handle(HttpRequest&& req, const RequestContext& ctx, Respond respond);

 private:
  struct Route;
  void dispatch(const HttpRequest& req, const RequestContext& ctx, const std::string& path, const std::string& query,
                const Respond& respond, std::string& route_label);
  void serve_dzi(const HttpRequest& req, const CatalogEntry& entry, const Respond& respond);
  void serve_deepzoom_tile(const HttpRequest& req, std::shared_ptr<const CatalogEntry> entry, std::string_view rest,
                           const Respond& respond);
  void serve_iiif(const HttpRequest& req, std::shared_ptr<const CatalogEntry> entry, std::string_view rest,
                  const Respond& respond, std::string& route_label);
  void serve_thumbnail(const HttpRequest& req, std::shared_ptr<const CatalogEntry> entry, const std::string& query,
                       const Respond& respond);
  void serve_associated(const HttpRequest& req, std::shared_ptr<const CatalogEntry> entry, std::string_view name,
                        const Respond& respond);
  // Answers from the cache, or renders once on the workers; 304 when the client already has it.
  void serve_cached(const HttpRequest& req, const CatalogEntry& entry, const std::string& key,
                    TileCache::Producer producer, const Respond& respond);

  SlideCatalog& catalog_;
  TileCache& cache_;
  Metrics& metrics_;
  boost::asio::thread_pool& workers_;
  TileServiceOptions options_;
};

}  // namespace reread
