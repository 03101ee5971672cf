// The slides a server offers: found by scanning its slide roots, each known by a stable opaque ID
// (a hash of where it lies under its root) that never reveals a path and is the only thing
// clients may name. Files OpenSlide cannot open are listed with their error, never served.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "openslide_source.h"
#include "tile_renderer.h"

namespace reread {

struct CatalogEntry {
  std::string id;
  std::string name;   // file name without extension
  std::string error;  // empty when the slide is served
  std::shared_ptr<const OpenSlideSource> slide;
  std::shared_ptr<const TileRenderer> deepzoom;  // 254 px tiles, 1 px overlap: what .dzi advertises
};

class SlideCatalog {
 public:
  explicit SlideCatalog(std::vector<std::filesystem::path> roots);
  // Scans again; slides already open and unchanged keep their handles.
  void rescan();
  std::shared_ptr<const CatalogEntry> find(const std::string& id) const;
  std::vector<std::shared_ptr<const CatalogEntry>> entries() const;

  static constexpr int kDeepZoomTileSize = 254;
  static constexpr int kDeepZoomOverlap = 1;

 private:
  std::vector<std::filesystem::path> roots_;
  mutable std::mutex mutex_;  // guards by_id_
  std::map<std::string, std::shared_ptr<const CatalogEntry>> by_id_;
};

// A slide ID is 24 lower-case hex digits; anything else is refused before any lookup.
bool is_slide_id(std::string_view s);

}  // namespace reread
