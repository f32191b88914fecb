// Aligned, owning, fixed-size buffer (64-byte aligned for AVX-512 loads; zero-initialised).
#pragma once
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace r1 {

template <typename T>
class Buffer {
public:
    Buffer() = default;
    explicit Buffer(size_t n) { resize(n); }
    Buffer(const Buffer& o) { *this = o; }
    Buffer(Buffer&& o) noexcept { swap(o); }
    Buffer& operator=(const Buffer& o) {
        if (this != &o) {
            resize(o.n_);
            if (n_) std::memcpy(p_, o.p_, n_ * sizeof(T));
        }
        return *this;
    }
    Buffer& operator=(Buffer&& o) noexcept {
        swap(o);
        return *this;
    }
    ~Buffer() { std::free(p_); }

    // Resizes to n elements, all zero (old contents are not kept).
    void resize(size_t n) {
        std::free(p_);
        p_ = nullptr;
        n_ = n;
        if (!n) return;
        size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
        p_ = static_cast<T*>(std::aligned_alloc(64, bytes));
        if (!p_) throw std::bad_alloc();
        std::memset(p_, 0, bytes);
    }
    void zero() {
        if (n_) std::memset(p_, 0, n_ * sizeof(T));
    }
    void swap(Buffer& o) noexcept {
        std::swap(p_, o.p_);
        std::swap(n_, o.n_);
    }

    T* data() { return p_; }
    const T* data() const { return p_; }
    size_t size() const { return n_; }
    bool empty() const { return n_ == 0; }
    T& operator[](size_t i) { return p_[i]; }
    const T& operator[](size_t i) const { return p_[i]; }
    T* begin() { return p_; }
    T* end() { return p_ + n_; }
    const T* begin() const { return p_; }
    const T* end() const { return p_ + n_; }

private:
    T* p_ = nullptr;
    size_t n_ = 0;
};

}  // namespace r1
