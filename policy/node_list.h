// NodeList: a circular doubly linked list threaded through nodes in a NodeSpace.
//
// Links are NodeIds stored in a ListHook at a fixed offset inside each node; a sentinel node
// (owned by the list's user) closes the circle, so any node unlinks in O(1) without knowing its
// list. An unlinked node has next == kNoNode.
//
// Thread safety: none; callers serialize.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <new>

#include "base/node_space.h"

namespace larder {

struct ListHook {
  NodeId prev = kNoNode;
  NodeId next = kNoNode;
};

class NodeList {
 public:
  // A view of the list closed by `sentinel`; touches no memory. Call Reset() once to make a new
  // sentinel an empty list.
  // REQUIRES: `sentinel` names at least hook_offset + sizeof(ListHook) bytes of writable memory.
  NodeList(NodeSpace space, uint32_t hook_offset, NodeId sentinel) noexcept
      : space_(space), offset_(hook_offset), sentinel_(sentinel) {}

  // Makes the list empty by pointing the sentinel at itself (nodes still linked are forgotten).
  void Reset() noexcept {
    ListHook* h = new (space_.At(sentinel_) + offset_) ListHook;
    h->prev = h->next = sentinel_;
  }

  ListHook& Hook(NodeId n) const noexcept {
    return *std::launder(reinterpret_cast<ListHook*>(space_.At(n) + offset_));
  }
  bool Linked(NodeId n) const noexcept { return Hook(n).next != kNoNode; }

  bool empty() const noexcept { return Hook(sentinel_).next == sentinel_; }
  // kNoNode when empty.
  NodeId front() const noexcept { return empty() ? kNoNode : Hook(sentinel_).next; }
  NodeId back() const noexcept { return empty() ? kNoNode : Hook(sentinel_).prev; }
  NodeId sentinel() const noexcept { return sentinel_; }

  void PushFront(NodeId n) noexcept { InsertAfter(sentinel_, n); }
  void PushBack(NodeId n) noexcept { InsertAfter(Hook(sentinel_).prev, n); }

  // REQUIRES: Linked(n) (in any list sharing this hook offset).
  void Unlink(NodeId n) noexcept {
    ListHook& h = Hook(n);
    Hook(h.prev).next = h.next;
    Hook(h.next).prev = h.prev;
    h.prev = h.next = kNoNode;
  }

  // Puts `fresh` where `old` is and unlinks `old`. REQUIRES: Linked(old), !Linked(fresh).
  void ReplaceWith(NodeId old, NodeId fresh) noexcept {
    ListHook& o = Hook(old);
    ListHook& f = Hook(fresh);
    f.prev = o.prev;
    f.next = o.next;
    Hook(o.prev).next = fresh;
    Hook(o.next).prev = fresh;
    o.prev = o.next = kNoNode;
  }

  // REQUIRES: Linked(n) in this list.
  void MoveToFront(NodeId n) noexcept {
    if (Hook(sentinel_).next == n) return;
    Unlink(n);
    PushFront(n);
  }

  // Empties the list, returning its first node (kNoNode if empty). The detached nodes still
  // chain through `next` and the last one's next is sentinel(); walk them with DetachedNext.
  NodeId Detach() noexcept {
    ListHook& s = Hook(sentinel_);
    if (s.next == sentinel_) return kNoNode;
    const NodeId first = s.next;
    s.prev = s.next = sentinel_;
    return first;
  }

 private:
  void InsertAfter(NodeId at, NodeId n) noexcept {
    ListHook& a = Hook(at);
    ListHook& h = Hook(n);
    h.prev = at;
    h.next = a.next;
    Hook(a.next).prev = n;
    a.next = n;
  }

  NodeSpace space_;
  uint32_t offset_;
  NodeId sentinel_;
};

}  // namespace larder
