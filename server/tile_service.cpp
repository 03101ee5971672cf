#include "tile_service.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "iiif_image_request.h"
#include "image_codec.h"
#include "scaled_region.h"
#include "slide_error.h"

namespace reread {

namespace {

using json = nlohmann::json;
const char* const kImmutable = "public, max-age=31536000, immutable";

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Non-negative decimal integers only: no sign, no spaces, no overflow.
std::optional<std::int64_t> parse_index(std::string_view s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

std::string query_param(const std::string& query, std::string_view name) {
  std::string_view q = query;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view pair = q.substr(0, amp);
    if (starts_with(pair, name) && pair.size() > name.size() && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return {};
}

json slide_json(const CatalogEntry& e) {
  json j = {{"id", e.id}, {"name", e.name}};
  if (!e.error.empty()) {
    j["status"] = "unreadable";
    j["error"] = e.error;
    return j;
  }
  const SlideInfo& info = e.slide->info();
  j["status"] = "ok";
  j["vendor"] = info.vendor;
  j["width"] = info.level_dimensions.front().width;
  j["height"] = info.level_dimensions.front().height;
  j["levels"] = json::array();
  for (int i = 0; i < info.level_count(); ++i) {
    j["levels"].push_back({{"width", info.level_dimensions[i].width},
                           {"height", info.level_dimensions[i].height},
                           {"downsample", info.level_downsamples[i]}});
  }
  j["mpp_x"] = info.mpp_x ? json(*info.mpp_x) : json(nullptr);
  j["mpp_y"] = info.mpp_y ? json(*info.mpp_y) : json(nullptr);
  j["objective_power"] = info.objective_power ? json(*info.objective_power) : json(nullptr);
  j["associated_images"] = json::array();
  for (const auto& a : info.associated_images) j["associated_images"].push_back(a.name);
  j["deepzoom"] = {{"dzi", "/slides/" + e.id + ".dzi"},
                   {"tile_size", SlideCatalog::kDeepZoomTileSize},
                   {"overlap", SlideCatalog::kDeepZoomOverlap}};
  j["iiif"] = "/iiif/3/" + e.id + "/info.json";
  return j;
}

// The IIIF view of a slide: level 0, its stored tile size, and power-of-two scale factors.
iiif::ImageInfo iiif_info(const SlideInfo& info, const TiledJpegTiff* stored, const TileServiceOptions& o) {
  iiif::ImageInfo ii;
  ii.width = info.level_dimensions.front().width;
  ii.height = info.level_dimensions.front().height;
  ii.max_width = o.iiif_max_width;
  ii.max_height = o.iiif_max_height;
  ii.max_area = o.iiif_max_area;
  int tile = 256;
  if (stored != nullptr && stored->level(0) != nullptr &&
      stored->level(0)->tile_width == stored->level(0)->tile_height) {
    tile = static_cast<int>(stored->level(0)->tile_width);
  }
  ii.tile_width = ii.tile_height = tile;
  for (int s = 1; s <= 1 << 20; s *= 2) {
    ii.scale_factors.push_back(s);
    if ((ii.width + s - 1) / s <= tile && (ii.height + s - 1) / s <= tile) break;
  }
  for (std::int64_t w = ii.width, h = ii.height; w > 0 && h > 0; w /= 2, h /= 2) {
    if (w <= 2048 && h <= 2048) ii.sizes.insert(ii.sizes.begin(), {w, h});
    if (w <= 64 || h <= 64) break;
  }
  return ii;
}

TileResult failure(const std::exception& e) {
  const auto* se = dynamic_cast<const SlideError*>(&e);
  return TileFailure{500, se != nullptr ? se->operation() + ": " + se->cause() : e.what()};
}

}  // namespace

TileService::TileService(SlideCatalog& catalog, TileCache& cache, Metrics& metrics, boost::asio::thread_pool& workers,
                         TileServiceOptions options)
    : catalog_(catalog), cache_(cache), metrics_(metrics), workers_(workers), options_(options) {}

void TileService::handle(HttpRequest&& req, const RequestContext& ctx, Respond respond) {
  const auto started = std::chrono::steady_clock::now();
  auto label = std::make_shared<std::string>("other");
  // Measure every answer, whichever thread it comes from.
  Respond measured = [this, respond = std::move(respond), started, label](HttpResponse&& res) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics_.observe(*label, static_cast<int>(res.result_int()), seconds, res.body().size());
    respond(std::move(res));
  };
  const std::string target(req.target());
  if (target.empty() || target.front() != '/') {
    return measured(json_error(req, http::status::bad_request, "bad target", "the request target must be a path"));
  }
  const auto qpos = target.find('?');
  const std::string path = target.substr(0, qpos);
  const std::string query = qpos == std::string::npos ? "" : target.substr(qpos + 1);
  // Paths name slides by ID only: encoded separators, backslashes and dot segments are refused outright.
  std::string lower = path;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("%2f") != std::string::npos || lower.find("%5c") != std::string::npos ||
      lower.find("%2e") != std::string::npos || path.find('\\') != std::string::npos ||
      path.find("/../") != std::string::npos || path.find("/./") != std::string::npos || path.ends_with("/..") ||
      path.find("//") != std::string::npos || path.find('\0') != std::string::npos) {
    return measured(
        json_error(req, http::status::bad_request, "bad path", "the path holds an encoded separator or a dot segment"));
  }
  dispatch(req, ctx, path, query, measured, *label);
}

void TileService::dispatch(const HttpRequest& req, const RequestContext& ctx, const std::string& path,
                           const std::string& query, const Respond& respond, std::string& label) {
  const bool read_method = req.method() == http::verb::get || req.method() == http::verb::head;
  if ((path == "/healthz" || path == "/metrics") && !read_method) {
    return respond(json_error(req, http::status::method_not_allowed, "method not allowed", "use GET"));
  }
  if (path == "/healthz") {
    label = "health";
    return respond(json_response(req, http::status::ok, R"({"status":"ok"})"));
  }
  if (path == "/metrics") {
    label = "metrics";
    return respond(bytes_response(req, metrics_.render(cache_.stats()), Metrics::kContentType));
  }
  if (path == "/api/slides/rescan") {
    label = "api";
    if (req.method() != http::verb::post) {
      return respond(json_error(req, http::status::method_not_allowed, "method not allowed", "use POST to rescan"));
    }
    catalog_.rescan();
    return respond(json_response(req, http::status::ok, json{{"slides", catalog_.entries().size()}}.dump()));
  }
  if (!read_method) {
    return respond(
        json_error(req, http::status::method_not_allowed, "method not allowed", "only GET and HEAD are served here"));
  }
  if (path == "/api/slides") {
    label = "api";
    json list = json::array();
    for (const auto& e : catalog_.entries()) {
      if (!ctx.slide_visible || ctx.slide_visible(e->id)) list.push_back(slide_json(*e));
    }
    return respond(json_response(req, http::status::ok, json{{"slides", list}}.dump()));
  }

  // The remaining routes name a slide: /api/slides/ID, /slides/ID..., /iiif/3/ID/...
  std::string_view rest;
  enum class Kind { api, slides, iiif } kind;
  if (starts_with(path, "/api/slides/")) {
    kind = Kind::api;
    rest = std::string_view(path).substr(12);
  } else if (starts_with(path, "/slides/")) {
    kind = Kind::slides;
    rest = std::string_view(path).substr(8);
  } else if (starts_with(path, "/iiif/3/")) {
    kind = Kind::iiif;
    rest = std::string_view(path).substr(8);
  } else {
    return respond(json_error(req, http::status::not_found, "not found", "no such route"));
  }
  const std::string id(rest.substr(0, 24));
  rest.remove_prefix(std::min<std::size_t>(24, rest.size()));
  if (!is_slide_id(id))
    return respond(json_error(req, http::status::not_found, "unknown slide", "no slide has this ID"));
  auto entry = catalog_.find(id);
  if (!entry) return respond(json_error(req, http::status::not_found, "unknown slide", "no slide has ID " + id));

  if (kind == Kind::api) {
    label = "api";
    if (!rest.empty()) return respond(json_error(req, http::status::not_found, "not found", "no such route"));
    return respond(json_response(req, http::status::ok, slide_json(*entry).dump()));
  }
  if (!entry->error.empty()) {
    return respond(json_error(req, http::status::unprocessable_entity, "unreadable slide", entry->error));
  }
  if (kind == Kind::iiif) return serve_iiif(req, entry, rest, respond, label);
  if (rest == ".dzi") {
    label = "dzi";
    return serve_dzi(req, *entry, respond);
  }
  if (starts_with(rest, "_files/")) {
    label = "deepzoom_tile";
    return serve_deepzoom_tile(req, entry, rest.substr(7), respond);
  }
  if (rest == "/thumbnail") {
    label = "thumbnail";
    return serve_thumbnail(req, entry, query, respond);
  }
  if (starts_with(rest, "/associated/")) {
    label = "associated";
    return serve_associated(req, entry, rest.substr(12), respond);
  }
  respond(json_error(req, http::status::not_found, "not found", "no such route"));
}

void TileService::serve_dzi(const HttpRequest& req, const CatalogEntry& entry, const Respond& respond) {
  HttpResponse res = bytes_response(req, entry.deepzoom->geometry().dzi_xml("jpeg"), "application/xml");
  res.set(http::field::cache_control, "public, max-age=3600");
  res.set(http::field::access_control_allow_origin, "*");
  respond(std::move(res));
}

void TileService::serve_deepzoom_tile(const HttpRequest& req, std::shared_ptr<const CatalogEntry> entry,
                                      std::string_view rest, const Respond& respond) {
  // LEVEL/COL_ROW.jpeg or .png
  const auto slash = rest.find('/');
  const auto underscore = rest.find('_', slash == std::string_view::npos ? 0 : slash);
  const auto dot = rest.rfind('.');
  if (slash == std::string_view::npos || underscore == std::string_view::npos || dot == std::string_view::npos ||
      !(slash < underscore && underscore < dot)) {
    return respond(json_error(req, http::status::bad_request, "bad tile address", "expected LEVEL/COL_ROW.jpeg"));
  }
  const auto level = parse_index(rest.substr(0, slash));
  const auto col = parse_index(rest.substr(slash + 1, underscore - slash - 1));
  const auto row = parse_index(rest.substr(underscore + 1, dot - underscore - 1));
  const std::string_view ext = rest.substr(dot + 1);
  if (!level || !col || !row) {
    return respond(json_error(req, http::status::bad_request, "bad tile address",
                              "level, column and row must be non-negative integers"));
  }
  TileFormat format;
  if (ext == "jpeg" || ext == "jpg") {
    format = TileFormat::jpeg;
  } else if (ext == "png") {
    format = TileFormat::png;
  } else {
    return respond(json_error(req, http::status::bad_request, "bad tile format", "tiles are .jpeg or .png"));
  }
  const DeepZoomGeometry& g = entry->deepzoom->geometry();
  if (*level > 64 || !g.contains(static_cast<int>(*level), *col, *row)) {
    return respond(json_error(req, http::status::not_found, "no such tile",
                              "tile " + std::to_string(*level) + "/" + std::to_string(*col) + "_" +
                                  std::to_string(*row) + " is outside the DeepZoom grid"));
  }
  const std::string key = "dz/" + entry->id + "/" + std::to_string(*level) + "/" + std::to_string(*col) + "_" +
                          std::to_string(*row) + "." + extension(format);
  const int quality = options_.jpeg_quality;
  serve_cached(
      req, *entry, key,
      [entry, key, level = static_cast<int>(*level), col = *col, row = *row, format, quality, this]() -> TileResult {
        try {
          auto bytes = entry->deepzoom->render_encoded(level, col, row, format, quality);
          metrics_.tile_rendered(false);
          return make_cached_tile(key, std::string(bytes.begin(), bytes.end()),
                                  format == TileFormat::jpeg ? "image/jpeg" : "image/png");
        } catch (const std::exception& e) {
          return failure(e);
        }
      },
      respond);
}

void TileService::serve_iiif(const HttpRequest& req, std::shared_ptr<const CatalogEntry> entry, std::string_view rest,
                             const Respond& respond, std::string& label) {
  const SlideInfo& info = entry->slide->info();
  const iiif::ImageInfo ii = iiif_info(info, entry->slide->stored_tiles(), options_);
  if (rest.empty() || rest == "/") {
    HttpResponse res{http::status::see_other, req.version()};
    res.set(http::field::location, "/iiif/3/" + entry->id + "/info.json");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return respond(std::move(res));
  }
  if (rest == "/info.json") {
    label = "iiif_info";
    // The service's own URI, from the Host the client used; anything odd in it is not echoed back.
    std::string host = std::string(req[http::field::host]);
    const bool plain = !host.empty() && host.size() < 256 && std::all_of(host.begin(), host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '-' || c == '[' || c == ']';
    });
    if (!plain) host = "localhost";
    const std::string base = "http://" + host + "/iiif/3/" + entry->id;
    HttpResponse res = bytes_response(req, iiif::info_json(base, ii).dump(),
                                      "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"");
    res.set(http::field::access_control_allow_origin, "*");
    return respond(std::move(res));
  }
  label = "iiif_image";
  // /{region}/{size}/{rotation}/{quality}.{format}
  std::vector<std::string_view> parts;
  std::string_view r = rest.substr(1);
  while (!r.empty()) {
    const auto s = r.find('/');
    parts.push_back(r.substr(0, s));
    if (s == std::string_view::npos) break;
    r.remove_prefix(s + 1);
  }
  if (parts.size() != 4) {
    return respond(json_error(req, http::status::bad_request, "bad IIIF request",
                              "expected /{region}/{size}/{rotation}/{quality}.{format}"));
  }
  const auto parsed = iiif::parse_image_request(parts[0], parts[1], parts[2], parts[3], ii);
  if (const auto* err = std::get_if<iiif::RequestError>(&parsed)) {
    return respond(json_error(req, static_cast<http::status>(err->status), "bad IIIF request", err->message));
  }
  const iiif::ImageRequest ir = std::get<iiif::ImageRequest>(parsed);
  const TileFormat format = ir.format == iiif::Format::png ? TileFormat::png : TileFormat::jpeg;
  const std::string key = "iiif/" + entry->id + "/" + ir.canonical();
  const int quality = options_.jpeg_quality;
  serve_cached(
      req, *entry, key,
      [entry, key, ir, format, quality, this]() -> TileResult {
        try {
          const TiledJpegTiff* stored = entry->slide->stored_tiles();
          const SlideInfo& si = entry->slide->info();
          // Zero-transcode: the request is exactly one whole stored JPEG tile of some level.
          if (stored != nullptr && format == TileFormat::jpeg && ir.out_w > 0 && ir.w % ir.out_w == 0) {
            const std::int64_t s = ir.w / ir.out_w;
            for (int l = 0; l < si.level_count(); ++l) {
              const auto* lv = stored->level(l);
              if (lv == nullptr || si.grid_downsample(l) != static_cast<double>(s)) continue;
              const std::int64_t tx = lv->tile_width * s, ty = lv->tile_height * s;
              if (ir.x % tx == 0 && ir.y % ty == 0 && ir.out_w == lv->tile_width && ir.out_h == lv->tile_height &&
                  ir.h == ir.out_h * s) {
                auto bytes = stored->raw_tile(l, ir.x / tx, ir.y / ty);
                if (!bytes.empty()) {
                  metrics_.tile_rendered(true);
                  return make_cached_tile(key, std::string(bytes.begin(), bytes.end()), "image/jpeg");
                }
              }
            }
          }
          const RgbImage img = read_scaled_region(*entry->slide, ir.x, ir.y, ir.w, ir.h, static_cast<int>(ir.out_w),
                                                  static_cast<int>(ir.out_h));
          auto bytes = encode_tile(img, format, quality);
          metrics_.tile_rendered(false);
          return make_cached_tile(key, std::string(bytes.begin(), bytes.end()),
                                  format == TileFormat::jpeg ? "image/jpeg" : "image/png");
        } catch (const std::exception& e) {
          return failure(e);
        }
      },
      respond);
}

void TileService::serve_thumbnail(const HttpRequest& req, std::shared_ptr<const CatalogEntry> entry,
                                  const std::string& query, const Respond& respond) {
  std::int64_t max = 512;
  if (const std::string m = query_param(query, "max"); !m.empty()) {
    const auto v = parse_index(m);
    if (!v || *v < 1 || *v > options_.thumbnail_max) {
      return respond(json_error(req, http::status::bad_request, "bad thumbnail size",
                                "max must be an integer from 1 to " + std::to_string(options_.thumbnail_max)));
    }
    max = *v;
  }
  const Size l0 = entry->slide->info().level_dimensions.front();
  const double f = std::min(1.0, static_cast<double>(max) / static_cast<double>(std::max(l0.width, l0.height)));
  const auto w = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::round(static_cast<double>(l0.width) * f)));
  const auto h = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::round(static_cast<double>(l0.height) * f)));
  const std::string key = "thumb/" + entry->id + "/" + std::to_string(w) + "x" + std::to_string(h);
  const int quality = options_.jpeg_quality;
  serve_cached(
      req, *entry, key,
      [entry, key, l0, w, h, quality]() -> TileResult {
        try {
          const RgbImage img =
              read_scaled_region(*entry->slide, 0, 0, l0.width, l0.height, static_cast<int>(w), static_cast<int>(h));
          auto bytes = encode_tile(img, TileFormat::jpeg, quality);
          return make_cached_tile(key, std::string(bytes.begin(), bytes.end()), "image/jpeg");
        } catch (const std::exception& e) {
          return failure(e);
        }
      },
      respond);
}

void TileService::serve_associated(const HttpRequest& req, std::shared_ptr<const CatalogEntry> entry,
                                   std::string_view name_ext, const Respond& respond) {
  if (!name_ext.ends_with(".jpg")) {
    return respond(json_error(req, http::status::not_found, "no such image", "associated images are NAME.jpg"));
  }
  const std::string name(name_ext.substr(0, name_ext.size() - 4));
  bool known = false;
  for (const auto& a : entry->slide->info().associated_images) known = known || a.name == name;
  if (!known) {
    return respond(
        json_error(req, http::status::not_found, "no such image", "this slide has no associated image '" + name + "'"));
  }
  const std::string key = "assoc/" + entry->id + "/" + name;
  const int quality = options_.jpeg_quality;
  serve_cached(
      req, *entry, key,
      [entry, key, name, quality]() -> TileResult {
        try {
          auto bytes = encode_tile(entry->slide->associated_image(name), TileFormat::jpeg, quality);
          return make_cached_tile(key, std::string(bytes.begin(), bytes.end()), "image/jpeg");
        } catch (const std::exception& e) {
          return failure(e);
        }
      },
      respond);
}

void TileService::serve_cached(const HttpRequest& req, const CatalogEntry& entry, const std::string& key,
                               TileCache::Producer producer, const Respond& respond) {
  // The ETag names the slide's content and the tile, so a revalidation needs no rendering.
  const std::string etag = make_tile_etag(key, entry.slide->info().quickhash + "/" + entry.id);
  const auto inm = req[http::field::if_none_match];
  if (!inm.empty() && inm.find(etag) != boost::beast::string_view::npos) {
    HttpResponse res{http::status::not_modified, req.version()};
    res.set(http::field::etag, etag);
    res.set(http::field::cache_control, kImmutable);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return respond(std::move(res));
  }
  const bool head = req.method() == http::verb::head;
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  cache_.get(key, std::move(producer), [respond, etag, head, version, keep_alive](const TileResult& result) {
    HttpRequest stub;
    stub.version(version);
    stub.keep_alive(keep_alive);
    if (const auto* fail = std::get_if<TileFailure>(&result)) {
      return respond(json_error(stub, static_cast<http::status>(fail->status), "tile failed", fail->message));
    }
    const auto& tile = std::get<CachedTile>(result);
    HttpResponse res = bytes_response(stub, head ? std::string() : *tile.bytes, tile.content_type);
    if (head) res.content_length(tile.bytes->size());
    res.set(http::field::etag, etag);
    res.set(http::field::cache_control, kImmutable);
    res.set(http::field::access_control_allow_origin, "*");
    respond(std::move(res));
  });
}

}  // namespace reread
