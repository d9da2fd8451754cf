// Whole-file writes that survive a crash: the new content appears under its name completely or
// not at all (write to a temporary file, fsync, rename, fsync the directory), as Redis replaces
// its files.

#ifndef LOYALTY_STORAGE_FILES_HPP_
#define LOYALTY_STORAGE_FILES_HPP_

#include <sys/types.h>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace loyalty::storage {

// A failed system call, with the path and what was being done.
class FileError : public std::runtime_error {
 public:
  FileError(std::string_view operation, const std::filesystem::path& path, int error_number);
  int error_number() const { return error_number_; }

 private:
  int error_number_;
};

enum class Replace { allowed, never };

// The contents of a secret file (member secret, POS token) without trailing newlines and
// spaces. Throws std::runtime_error when it cannot be read or is empty; `what` names it.
std::string read_secret(const std::filesystem::path& path, std::string_view what);

// Replaces (or creates) `path` with `content`, readable only as `mode` allows. With
// Replace::never an existing file is left alone and FileError(EEXIST) is thrown.
void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode,
                           Replace replace = Replace::allowed);

// Puts a fully written `temporary` file in place under `path`: fsync, then rename (or, with
// Replace::never, link, refusing an existing file), then fsync of the directory. The temporary
// name is gone afterwards, also when this throws.
void publish_file(const std::filesystem::path& temporary, const std::filesystem::path& path, Replace replace);

// Makes a rename or creation inside `directory` durable.
void sync_directory(const std::filesystem::path& directory);

// Whether `directory` can take `bytes` more: 0 when it can, else the error that refused them
// (ENOSPC for a full disk, EDQUOT over a quota, EROFS on a filesystem mounted read-only). The
// space is reserved for a moment in an unnamed file (fallocate, no data written) and given
// back: nothing is left behind, however the process ends.
int probe_space(const std::filesystem::path& directory, off_t bytes);

// What probe_space's error means for a terminal's data: "the disk is full", ...
std::string space_problem(int error_number);

// The whole content of a file.
std::string read_file(const std::filesystem::path& path);

}  // namespace loyalty::storage

#endif  // LOYALTY_STORAGE_FILES_HPP_
