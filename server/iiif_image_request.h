// IIIF Image API 3.0: parses and validates /{region}/{size}/{rotation}/{quality}.{format} against one image,
// and builds that image's info.json. Pure code: no I/O; the HTTP layer turns RequestError into a response.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace reread::iiif {

// What the server knows about one image (a whole-slide image's level 0).
struct ImageInfo {
  std::int64_t width = 0, height = 0;
  // Output limits, advertised in info.json and enforced; 0 means no limit. As in spec 5.2, max_height only
  // counts together with max_width, and a missing max_height means max_height == max_width.
  std::int64_t max_width = 0, max_height = 0, max_area = 0;
  int tile_width = 256, tile_height = 256;                   // advertised tile size
  std::vector<int> scale_factors;                            // advertised (e.g. 1,2,4,...)
  std::vector<std::pair<std::int64_t, std::int64_t>> sizes;  // advertised whole-image sizes (width, height)
  // Whether ^ sizes may enlarge the region. Only takes effect with max_width or max_area set: the spec
  // requires a server offering sizeUpscaling to declare one of them, so unbounded upscaling is never offered.
  bool allow_upscaling = true;
};

enum class Format { jpg, png };

// How the size appears in the canonical URI (spec 4.8).
enum class CanonicalSize {
  max,           // "max": the largest size without upscaling
  upscaled_max,  // "^max": the largest size the limits allow, bigger than the region
  exact,         // "w,h", or "^w,h" when bigger than the region
};

// A valid request resolved against the image.
struct ImageRequest {
  std::int64_t x = 0, y = 0, w = 0, h = 0;  // region in full-resolution pixels, clipped to the image
  std::int64_t out_w = 0, out_h = 0;        // output size in pixels
  Format format = Format::jpg;
  bool full_region = false;  // the region is the whole image
  CanonicalSize canonical_size = CanonicalSize::exact;

  bool upscaled() const { return out_w > w || out_h > h; }
  // Canonical "{region}/{size}/{rotation}/{quality}.{format}" (spec 4.8), without a leading slash, e.g.
  // "full/max/0/default.jpg" or "0,0,512,512/256,256/0/default.png". Requests that produce the same image
  // share it ("color" is the default quality here), so it serves as a cache key.
  std::string canonical() const;
};

// 400 Bad Request, 501 Not Implemented (upscaling), 500 when the image itself is unusable.
// message is plain text that never echoes the raw request.
struct RequestError {
  int status = 400;
  std::string message;
};

// Parses and validates; never throws on bad input. Checks the parameters in URL order and reports the first
// error. Following spec 4.3-4.5, well-formed but unsupported rotations (90, !0), qualities (gray, bitonal) and
// formats (tif, gif, pdf, jp2, webp) are 400 with a "not supported" message; 501 is kept for ^ sizes that need
// upscaling when the image does not offer it (spec 4.2).
std::variant<ImageRequest, RequestError> parse_image_request(std::string_view region, std::string_view size,
                                                             std::string_view rotation,
                                                             std::string_view quality_dot_format,
                                                             const ImageInfo& image);

// True when ^ requests may enlarge the region (allow_upscaling and a max_width or max_area limit).
bool upscaling_supported(const ImageInfo& image);

std::string_view extension(Format format);   // "jpg", "png"
std::string_view media_type(Format format);  // "image/jpeg", "image/png"

// The image information document (spec 5). id is the image service's base URI (a trailing slash is dropped).
// Advertises profile level1: the HTTP layer must also provide the level-1 HTTP features (CORS, base URI
// redirect to info.json, JSON-LD media type). sizes outside the image or the limits are left out.
nlohmann::json info_json(const std::string& id, const ImageInfo& image);

}  // namespace reread::iiif
