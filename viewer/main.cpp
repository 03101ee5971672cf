// reread-viewer: the command line (CLI11) in front of the viewer application.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <regex>
#include <string>

#include "app_main_loop.h"

namespace {

// "X,Y" as two numbers; throws CLI::ValidationError.
reread::viewer::Vec2 parse_point(const std::string& text) {
  static const std::regex re(R"(^\s*(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*,\s*(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) throw CLI::ValidationError("--center", "expected X,Y in level-0 pixels");
  return {std::stod(m[1]), std::stod(m[2])};
}

// "WxH"; throws CLI::ValidationError.
std::pair<int, int> parse_size(const std::string& text) {
  static const std::regex re(R"(^([0-9]{2,5})[xX]([0-9]{2,5})$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) throw CLI::ValidationError("--size", "expected WxH, e.g. 1024x768");
  return {std::stoi(m[1]), std::stoi(m[2])};
}

}  // namespace

int main(int argc, char** argv) {
  reread::viewer::AppOptions o;
  CLI::App app{
      "reread-viewer: pathology slides from reread-server (--server URL --token TOKEN) or a local slide file, "
      "streamed coarse-to-fine."};
  app.set_config("--config", "", "read these options from a TOML/INI file");
  std::string slide_file, server, token, center, size, case_id;
  app.add_option("slide_file", slide_file, "a local slide file (any format OpenSlide reads) instead of a server");
  app.add_option("--server", server, "reread-server's base URL, e.g. http://127.0.0.1:8080");
  app.add_option("--token", token, "API token (or the REREAD_TOKEN environment variable)")->envname("REREAD_TOKEN");
  app.add_option("--case", case_id, "open this case");
  std::string slide_id;
  app.add_option("--slide", slide_id, "open this slide (by ID)");
  app.add_option("--center", center, "X,Y: the view's centre in level-0 pixels");
  double magnification = 0;
  app.add_option("--magnification", magnification, "magnification to show (e.g. 10 for 10x)")
      ->check(CLI::PositiveNumber);
  int rotation = 0;
  app.add_option("--rotation", rotation, "clockwise rotation in degrees: 0, 90, 180 or 270")
      ->check(CLI::IsMember({0, 90, 180, 270}));
  app.add_option("--size", size, "window size WxH in screen pixels (default 1600x1000)");
  app.add_option("--screenshot", o.screenshot_path,
                 "write the view as PNG once every visible tile is drawn at full resolution, then exit");
  app.add_option("--script", o.script_path, "replay a camera path (JSON), then exit");
  app.add_option("--report", o.report_path, "where --script writes its JSON timing report (default stdout)");
  app.add_option("--timeout", o.timeout_s, "seconds a screenshot, or a script's wait, may take (default 60)")
      ->check(CLI::PositiveNumber);
  app.add_option("--brightness", o.display.brightness, "added in linear light, -1..1 (default 0)")
      ->check(CLI::Range(-1.0, 1.0));
  app.add_option("--contrast", o.display.contrast, "about linear mid-grey, 0..4 (default 1)")
      ->check(CLI::Range(0.0, 4.0));
  app.add_option("--gamma", o.display.gamma, "display gamma, 0.2..5 (default 1)")->check(CLI::Range(0.2, 5.0));
  std::size_t texture_mb = 384, decoded_mb = 256;
  app.add_option("--texture-mb", texture_mb, "GPU texture cache per view, MB (default 384)")
      ->check(CLI::Range(16, 65536));
  app.add_option("--cache-mb", decoded_mb, "decoded tile cache per view, MB (default 256)")
      ->check(CLI::Range(16, 65536));
  app.add_option("--connections", o.connections, "parallel HTTP connections per view (default 6)")
      ->check(CLI::Range(1, 64));
  app.add_option("--pipeline", o.pipeline_depth,
                 "tile requests each connection keeps on the wire (HTTP/1.1 pipelining, default 4; 1 turns it off)")
      ->check(CLI::Range(1, 32));
  app.add_option("--decoders", o.decoders, "JPEG decoding threads per view (default 2)")->check(CLI::Range(1, 64));
  app.add_option("--state-dir", o.state_dir,
                 "where changes waiting for the server are kept (default $XDG_STATE_HOME/reread or ~/.local/state/reread)");
  app.add_option("--threads", o.local_threads, "rendering threads for a local slide (default 2)")
      ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);

  try {
    if (!center.empty()) o.center = parse_point(center);
    if (!size.empty()) std::tie(o.width, o.height) = parse_size(size);
  } catch (const CLI::ValidationError& e) {
    return app.exit(e);
  }
  if (magnification > 0) o.magnification = magnification;
  o.quarter_turns = rotation / 90;
  o.view.texture_bytes = texture_mb << 20;
  o.view.engine.decoded_cache_bytes = decoded_mb << 20;
  if (!case_id.empty()) {
    try {
      std::size_t used = 0;
      o.case_id = std::stoll(case_id, &used);
      if (used != case_id.size()) throw std::invalid_argument(case_id);
    } catch (const std::exception&) {
      std::cerr << "reread-viewer: --case '" << case_id << "' is not a case ID (a number)" << std::endl;
      return 2;
    }
  }
  if (!slide_id.empty()) o.slide_id = slide_id;

  if (slide_file.empty() == server.empty()) {
    std::cerr << "reread-viewer: give either --server URL (with --token) or a slide file\n" << app.help() << std::flush;
    return 2;
  }
  if (!server.empty()) {
    if (token.empty()) {
      std::cerr << "reread-viewer: --token (or REREAD_TOKEN) is needed to read from " << server << std::endl;
      return 2;
    }
    while (server.size() > 1 && server.back() == '/') server.pop_back();
    o.server_url = server;
    o.token = token;
  } else {
    if (o.case_id || o.slide_id) {
      std::cerr << "reread-viewer: --case and --slide name things on a server; a slide file is opened alone"
                << std::endl;
      return 2;
    }
    o.slide_file = slide_file;
  }
  if (!o.report_path.empty() && o.script_path.empty()) {
    std::cerr << "reread-viewer: --report goes with --script" << std::endl;
    return 2;
  }
  if (!o.screenshot_path.empty() && !o.script_path.empty()) {
    std::cerr << "reread-viewer: --screenshot and --script are separate runs" << std::endl;
    return 2;
  }
  return reread::viewer::run_viewer(o);
}
