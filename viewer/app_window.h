// The window system behind one small type (Tracy's Backend): GLFW window with an OpenGL 3.3 core
// context (sRGB-capable when the display offers it), Dear ImGui's context and its GLFW and OpenGL 3
// backends. Created and destroyed in order; everything else talks to the window through here.
#pragma once

#include <string>

struct GLFWwindow;

namespace reread::viewer {

class AppWindow {
 public:
  // Throws std::runtime_error saying why no window could be made (no display, no OpenGL 3.3).
  AppWindow(int width, int height, const std::string& title, bool vsync);
  ~AppWindow();
  AppWindow(const AppWindow&) = delete;
  AppWindow& operator=(const AppWindow&) = delete;

  bool should_close() const;
  // Waits up to `timeout_s` for input (0: just polls).
  void wait_events(double timeout_s);
  // Wakes wait_events from any thread.
  static void wake();
  void begin_ui_frame();
  void render_ui();  // draws ImGui's frame into the bound default framebuffer
  void swap();

  int framebuffer_width() const;
  int framebuffer_height() const;
  // Screen (window) pixels, the unit of the cameras and of ImGui.
  int width() const;
  int height() const;
  double pixel_ratio() const;    // framebuffer pixels per screen pixel
  std::string renderer() const;  // GL_RENDERER and GL_VERSION

  // Tab toggles the sidebar; read once per frame.
  bool take_tab_pressed();

 private:
  void shutdown();

  GLFWwindow* window_ = nullptr;
  bool imgui_glfw_ = false, imgui_gl_ = false;
};

}  // namespace reread::viewer
