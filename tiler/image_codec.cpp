// JPEG via TurboJPEG (one compressor/decompressor per thread, reused), PNG via libpng's simplified API.
#include "image_codec.h"

#include <png.h>
#include <turbojpeg.h>

#include <memory>
#include <stdexcept>

namespace reread {

namespace {

struct TjDeleter {
  void operator()(void* h) const {
    if (h != nullptr) tjDestroy(h);
  }
};
using TjHandle = std::unique_ptr<void, TjDeleter>;

// One TurboJPEG handle per thread and direction. A handle that reported an error is replaced:
// TurboJPEG does not reliably reset its state after a failed decode.
class ThreadTurboJpeg {
 public:
  explicit ThreadTurboJpeg(bool compress) : compress_(compress) {}
  tjhandle get() {
    if (!h_) h_.reset(compress_ ? tjInitCompress() : tjInitDecompress());
    if (!h_) throw std::runtime_error("TurboJPEG: cannot create a handle");
    return h_.get();
  }
  [[noreturn]] void fail(const char* what) {
    const std::string message = std::string(what) + ": " + tjGetErrorStr2(h_.get());
    h_.reset();
    throw std::runtime_error(message);
  }

 private:
  bool compress_;
  TjHandle h_;
};

ThreadTurboJpeg& compressor() {
  thread_local ThreadTurboJpeg tj(true);
  return tj;
}

ThreadTurboJpeg& decompressor() {
  thread_local ThreadTurboJpeg tj(false);
  return tj;
}

}  // namespace

TileFormat parse_tile_format(const std::string& name) {
  if (name == "jpeg" || name == "jpg") return TileFormat::jpeg;
  if (name == "png") return TileFormat::png;
  throw std::invalid_argument("unknown tile format '" + name + "' (use jpeg or png)");
}

const char* extension(TileFormat f) { return f == TileFormat::jpeg ? "jpeg" : "png"; }

std::vector<std::uint8_t> encode_jpeg(const std::uint8_t* rgb, int width, int height, std::size_t stride, int quality) {
  if (quality < 1 || quality > 100) throw std::invalid_argument("JPEG quality must be 1..100");
  tjhandle tj = compressor().get();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  if (tjCompress2(tj, rgb, width, static_cast<int>(stride), height, TJPF_RGB, &out, &size, TJSAMP_420, quality,
                  TJFLAG_FASTDCT) != 0) {
    if (out != nullptr) tjFree(out);
    compressor().fail("JPEG encode");
  }
  std::vector<std::uint8_t> bytes(out, out + size);
  tjFree(out);
  return bytes;
}

std::vector<std::uint8_t> encode_png(const std::uint8_t* rgb, int width, int height, std::size_t stride) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  const auto row_stride = static_cast<png_int_32>(stride);  // in samples: one byte each
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, rgb, row_stride, nullptr)) {
    throw std::runtime_error(std::string("PNG encode: ") + image.message);
  }
  std::vector<std::uint8_t> bytes(size);
  if (!png_image_write_to_memory(&image, bytes.data(), &size, 0, rgb, row_stride, nullptr)) {
    throw std::runtime_error(std::string("PNG encode: ") + image.message);
  }
  bytes.resize(size);
  return bytes;
}

std::vector<std::uint8_t> encode_tile(const RgbImage& img, TileFormat format, int quality) {
  return format == TileFormat::jpeg ? encode_jpeg(img.pixels.data(), img.width, img.height, img.stride(), quality)
                                    : encode_png(img.pixels.data(), img.width, img.height, img.stride());
}

RgbImage decode_jpeg(std::span<const std::uint8_t> data) {
  tjhandle tj = decompressor().get();
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, data.data(), static_cast<unsigned long>(data.size()), &w, &h, &subsamp, &colorspace) !=
      0) {
    decompressor().fail("JPEG decode");
  }
  RgbImage img(w, h);
  decode_jpeg_into(data, w, h, img.pixels.data(), img.stride());
  return img;
}

void decode_jpeg_into(std::span<const std::uint8_t> data, int width, int height, std::uint8_t* rgb, std::size_t pitch,
                      int scale) {
  tjhandle tj = decompressor().get();
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, data.data(), static_cast<unsigned long>(data.size()), &w, &h, &subsamp, &colorspace) !=
      0) {
    decompressor().fail("JPEG decode");
  }
  if (w != width || h != height) {
    throw std::runtime_error("JPEG decode: image is " + std::to_string(w) + "x" + std::to_string(h) + ", expected " +
                             std::to_string(width) + "x" + std::to_string(height));
  }
  if (scale != 1 && scale != 2 && scale != 4 && scale != 8)
    throw std::invalid_argument("JPEG scale must be 1, 2, 4 or 8");
  const int out_w = (w + scale - 1) / scale, out_h = (h + scale - 1) / scale;
  if (tjDecompress2(tj, data.data(), static_cast<unsigned long>(data.size()), rgb, out_w, static_cast<int>(pitch),
                    out_h, TJPF_RGB, 0) != 0) {
    decompressor().fail("JPEG decode");
  }
}

RgbImage decode_png(std::span<const std::uint8_t> data) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, data.data(), data.size())) {
    throw std::runtime_error(std::string("PNG decode: ") + image.message);
  }
  image.format = PNG_FORMAT_RGB;
  RgbImage img(static_cast<int>(image.width), static_cast<int>(image.height));
  if (!png_image_finish_read(&image, nullptr, img.pixels.data(), 0, nullptr)) {
    png_image_free(&image);
    throw std::runtime_error(std::string("PNG decode: ") + image.message);
  }
  return img;
}

}  // namespace reread
