// WorkPool: items are claimed one at a time under a mutex; items are coarse (a tile, a strip).
#include "work_pool.h"

#include <algorithm>

namespace reread {

WorkPool::WorkPool(int threads) {
  for (int i = 1; i < std::max(1, threads); ++i) workers_.emplace_back([this] { worker_loop(); });
}

WorkPool::~WorkPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void WorkPool::run_items() {
  std::unique_lock lock(mutex_);
  while (job_ != nullptr && next_ < job_size_) {
    const std::size_t i = next_++;
    const auto* fn = job_;
    lock.unlock();
    try {
      if (!error_) (*fn)(i);
    } catch (...) {
      std::lock_guard g(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    lock.lock();
    if (++finished_ == job_size_) done_.notify_all();
  }
}

void WorkPool::worker_loop() {
  std::size_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    run_items();
  }
}

void WorkPool::parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (n == 0) return;
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    job_size_ = n;
    next_ = 0;
    finished_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  run_items();
  std::exception_ptr error;
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return finished_ == job_size_; });
    job_ = nullptr;
    error = error_;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace reread
