#include "slide_catalog.h"

#include <openslide/openslide.h>
#include <openssl/evp.h>

#include <algorithm>

#include "slide_error.h"

namespace reread {

namespace {

std::string slide_id(std::size_t root_index, const std::string& relative) {
  const std::string input = "reread-slide\n" + std::to_string(root_index) + "\n" + relative;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (unsigned int i = 0; i < 12 && i < len; ++i) {
    id += hex[digest[i] >> 4];
    id += hex[digest[i] & 15];
  }
  return id;
}

// Files worth offering to OpenSlide: the extensions of the formats it reads.
bool looks_like_slide(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::vector<std::string> known = {".svs",  ".tif",     ".tiff", ".ndpi", ".vms", ".vmu", ".scn",
                                                 ".mrxs", ".svslide", ".bif",  ".dcm",  ".png", ".jpg"};
  return std::find(known.begin(), known.end(), ext) != known.end();
}

}  // namespace

bool is_slide_id(std::string_view s) {
  return s.size() == 24 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

SlideCatalog::SlideCatalog(std::vector<std::filesystem::path> roots) : roots_(std::move(roots)) { rescan(); }

void SlideCatalog::rescan() {
  std::map<std::string, std::shared_ptr<const CatalogEntry>> previous;
  {
    std::lock_guard lock(mutex_);
    previous = by_id_;
  }
  std::map<std::string, std::shared_ptr<const CatalogEntry>> next;
  for (std::size_t r = 0; r < roots_.size(); ++r) {
    std::error_code ec;
    auto it = std::filesystem::recursive_directory_iterator(
        roots_[r], std::filesystem::directory_options::skip_permission_denied, ec);
    if (ec) continue;
    for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec) || !looks_like_slide(it->path())) continue;
      const std::string relative = std::filesystem::relative(it->path(), roots_[r], ec).string();
      const std::string id = slide_id(r, relative);
      if (auto old = previous.find(id); old != previous.end() && old->second->error.empty()) {
        next[id] = old->second;
        continue;
      }
      auto entry = std::make_shared<CatalogEntry>();
      entry->id = id;
      entry->name = it->path().stem().string();
      try {
        auto slide = std::make_shared<const OpenSlideSource>(it->path().string());
        entry->deepzoom =
            std::make_shared<const TileRenderer>(*slide, DeepZoomOptions{kDeepZoomTileSize, kDeepZoomOverlap, false});
        entry->slide = std::move(slide);
      } catch (const std::exception& e) {
        // Report the cause without the path: clients never learn where slides live.
        const auto* se = dynamic_cast<const SlideError*>(&e);
        entry->error = se != nullptr ? se->operation() + ": " + se->cause() : e.what();
        entry->deepzoom.reset();
        entry->slide.reset();
      }
      next[id] = std::move(entry);
    }
  }
  std::lock_guard lock(mutex_);
  by_id_ = std::move(next);
}

std::shared_ptr<const CatalogEntry> SlideCatalog::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const CatalogEntry>> SlideCatalog::entries() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<const CatalogEntry>> out;
  for (const auto& [id, e] : by_id_) out.push_back(e);
  return out;
}

}  // namespace reread
