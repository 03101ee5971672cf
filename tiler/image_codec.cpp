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

tjhandle thread_compressor() {
  thread_local TjHandle h(tjInitCompress());
  if (!h) throw std::runtime_error("TurboJPEG: cannot create a compressor");
  return h.get();
}

tjhandle thread_decompressor() {
  thread_local TjHandle h(tjInitDecompress());
  if (!h) throw std::runtime_error("TurboJPEG: cannot create a decompressor");
  return h.get();
}

}  // namespace

TileFormat parse_tile_format(const std::string& name) {
  if (name == "jpeg" || name == "jpg") return TileFormat::jpeg;
  if (name == "png") return TileFormat::png;
  throw std::invalid_argument("unknown tile format '" + name + "' (use jpeg or png)");
}

const char* extension(TileFormat f) { return f == TileFormat::jpeg ? "jpeg" : "png"; }

std::vector<std::uint8_t> encode_jpeg(const std::uint8_t* rgb, int width, int height, std::size_t stride,
                                      int quality) {
  if (quality < 1 || quality > 100) throw std::invalid_argument("JPEG quality must be 1..100");
  tjhandle tj = thread_compressor();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  if (tjCompress2(tj, rgb, width, static_cast<int>(stride), height, TJPF_RGB, &out, &size, TJSAMP_420,
                  quality, TJFLAG_FASTDCT) != 0) {
    if (out != nullptr) tjFree(out);
    throw std::runtime_error(std::string("JPEG encode: ") + tjGetErrorStr2(tj));
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
  const auto row_stride = static_cast<png_int_32>(stride / 3);
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
  tjhandle tj = thread_decompressor();
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, data.data(), static_cast<unsigned long>(data.size()), &w, &h, &subsamp,
                          &colorspace) != 0) {
    throw std::runtime_error(std::string("JPEG decode: ") + tjGetErrorStr2(tj));
  }
  RgbImage img(w, h);
  if (tjDecompress2(tj, data.data(), static_cast<unsigned long>(data.size()), img.pixels.data(), w,
                    static_cast<int>(img.stride()), h, TJPF_RGB, 0) != 0) {
    throw std::runtime_error(std::string("JPEG decode: ") + tjGetErrorStr2(tj));
  }
  return img;
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
