// A session's snapshot store: the objects the agent destroyed, kept so that
// `sandboxctl rollback` can put them back byte for byte.
//
//   <state>/sessions/<id>/snapshots/
//       000007          a deleted file or tree, moved here whole (O(1): the
//                       same inode, so content, mode, owner, times, xattrs
//                       and hard links come along untouched)
//       000008.copy     the old bytes of a file about to be truncated or
//                       overwritten: a reflink (FICLONE) where the filesystem
//                       has them, a copy where it does not, fdatasync'ed
//                       before the destructive operation goes ahead
//
// What each snapshot was (path, type, mode, owner, times, size) is in the
// journal line of the operation it protects, not here: the journal is the
// one index. The directory belongs to the agent's uid (the gate's worker
// acts as the agent) but lies in sandboxd's state directory, which the
// agent's mount namespace hides and its Landlock domain leaves out.
//
// A byte budget bounds the store: a snapshot that would exceed it is not
// taken, and the operation it was for is refused (never allowed without it).
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <deque>
#include <vector>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <memory>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace sandboxd {

struct Snapshot {
    std::string ref;   // name inside the store ("00000/000007", "00000/000008.copy")
    std::string path;  // absolute path of the stored object
    std::string how;   // "move", "copy", "mkdir" (directory: metadata only)
    uint64_t bytes = 0;  // charged to the budget
    // The object's birth time when it was born during the session (else
    // -1): such a snapshot may be dropped to make room (SnapshotBudget).
    int64_t born_usec = -1;
    // Extended attributes of the original the undo record carries itself
    // (snapshot/xattrs.h): for a copy, which cannot hold them all.
    nlohmann::json xattrs = nlohmann::json::object();
};

// One budget for all of a session's stores.
//
// Snapshots of objects born during the session (a build's temporary files,
// an unpacked tarball removed again) are kept too, for `rollback --to` a
// point where they existed, but they are what gives way when the budget
// is full: the oldest of them are dropped to make room, and the journal
// line of the operation that needed the room lists them. A full rollback
// never needs them (it removes what the session made), and without this
// a long session of builds would fill the budget with its own litter and
// then be refused every delete. What existed before the session is never
// dropped: a snapshot of it that does not fit is refused.
struct SnapshotBudget {
    uint64_t limit = 0;
    std::atomic<uint64_t> used{0};  // the gate's worker charges, others read
    std::atomic<uint64_t> next{1};  // snapshot names, unique across the stores

    // The worker's alone.
    struct Droppable {
        int store_dir = -1;
        std::string ref;
        std::string path;  // Snapshot::path, what journal lines name
        uint64_t bytes = 0;
    };
    std::deque<Droppable> droppable;  // oldest first
    std::vector<std::string> dropped;  // paths dropped since the gate last journaled them
};

// An object's metadata as the journal keeps it.
nlohmann::json file_meta(const struct stat& st);
const char* file_type_name(mode_t mode);

// A session may have several stores, one per filesystem its destroy trees
// span: deletes are renames, which cannot cross mounts.
class SnapshotStore {
public:
    SnapshotStore() = default;
    // Creates the store directory (mode 0700, owned by `owner`).
    static Result<SnapshotStore> create(const std::string& dir, uid_t owner, gid_t group,
                                        std::shared_ptr<SnapshotBudget> budget);
    // The store of one session in `parent` (a mount root's
    // .sandboxd-snapshots, see store_parent_at), which is made if missing
    // and must be sandboxd's own: a directory of root's that nobody else
    // may enter. An agent of an earlier session that could write the mount
    // root may have left one there, or a symlink, to reach the snapshots
    // of later sessions: refused, with what to remove.
    static Result<SnapshotStore> create_in(const std::string& parent, const std::string& name, uid_t owner, gid_t group,
                                           std::shared_ptr<SnapshotBudget> budget);

    int dir_fd() const { return dir_.get(); }
    dev_t dev() const { return dev_; }          // its filesystem (reflinks work within one)
    uint64_t mount_id() const { return mnt_; }  // its mount (renames work within one)
    const std::string& dir() const { return path_; }

    // Renames `name` in `parent` into the store. `parent` must be on the
    // store's mount (EXDEV otherwise: the caller falls back to a copy).
    // `born_usec`: the object's birth time if it was born during the
    // session, else -1 (see Snapshot::born_usec).
    Result<Snapshot> take_by_move(int parent, const std::string& name, const struct stat& st,
                                  int64_t born_usec = -1);
    // Puts a moved object back where it was (the operation then failed).
    Status put_back(const Snapshot& s, int parent, const std::string& name);
    // Copies the regular file open for reading at `fd`. `stop`, asked
    // between pieces of a long copy and before its sync: when it says so,
    // the copy is dropped and the error is ECANCELED.
    Result<Snapshot> take_copy(int fd, const struct stat& st, int64_t born_usec = -1,
                               const std::function<bool()>& stop = {});
    // A directory about to be removed: nothing to keep but its metadata.
    Snapshot take_metadata();
    // Drops a snapshot whose operation did not happen after all.
    void discard(const Snapshot& s);

private:
    // create's and create_in's common end: the store open at `dir`.
    static Result<SnapshotStore> adopt(UniqueFd dir, std::string path, uid_t owner, gid_t group,
                                       std::shared_ptr<SnapshotBudget> budget);
    // Takes `bytes` from the budget, dropping the oldest droppable
    // snapshots when that makes it fit; ENOSPC when nothing does.
    Status charge(uint64_t bytes);
    // The next snapshot's name. Names go into subdirectories of
    // kPerShard: ext4 scans a directory block for every name it adds or
    // looks up, and a flat store of thousands made each delete's rename
    // into it cost twice a bare unlink (20 us against 11 us here).
    // `makes_file`: create the subdirectory if this store lacks it.
    Result<std::string> next_name(const char* suffix, bool makes_file);
    void note_droppable(const Snapshot& s);
    void forget(const Snapshot& s);  // no longer in the store: off the budget
    static constexpr uint64_t kPerShard = 64;
    // At most this many snapshots dropped for one operation (its journal
    // line lists them, and a line must stay well under the journal's
    // limit); an operation that would need more is refused.
    static constexpr size_t kMaxDropsPerCall = 2048;

    UniqueFd dir_;
    std::string path_;
    std::shared_ptr<SnapshotBudget> budget_;
    dev_t dev_ = 0;
    uint64_t mnt_ = 0;
    uint64_t shard_made_ = UINT64_MAX;  // the newest subdirectory made here
    bool ordered_log_ = false;  // XFS: a reflink needs no sync (see take_copy)
};

// The root of the mount holding `path` (the topmost directory above it on
// the same mount): where a destroy tree's own snapshot store goes when it
// is not on the state directory's mount, so that deletes stay renames.
Result<std::string> mount_root_of(const std::string& path);
// The same for the directory open at `dir_fd`, found by walking up with
// "..", never through a symbolic link (the path is the kernel's name for
// the root found).
Result<std::string> mount_root_of_dir(int dir_fd);
// The directory at a mount root that holds its stores (hidden from agents).
inline std::string store_parent_at(const std::string& mount_root) {
    return (mount_root == "/" ? "" : mount_root) + "/.sandboxd-snapshots";
}

}  // namespace sandboxd
