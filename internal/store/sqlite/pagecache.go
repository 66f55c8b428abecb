package sqlite

import (
	"encoding/binary"
	"fmt"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite's page caches live in one buffer of page-sized slots that the
// process sets up before its first connection (SQLITE_CONFIG_PAGECACHE).
//
// Without it every cached page is a malloc of its own: 4,096 bytes of page
// and ~300 of header, which modernc's allocator (power-of-two size classes)
// serves from an 8 KiB slot. A connection's cache_size then costs nearly
// twice its size in RSS: with 1M tokens, ~47 MB of the server's memory was
// SQLite's, against ~26 MB of page caches configured. In the buffer a page
// takes its own size; the buffer is reserved, not touched, so only the
// slots in use are resident.
//
// The buffer holds the page caches of one Store at their configured sizes
// (the writer's, the readers', the verification connections', the fold's
// and the checkpointer's). When it is nine-tenths used, SQLite reuses the
// least recently used pages before asking for more (modernc builds SQLite
// with SQLITE_ENABLE_MEMORY_MANAGEMENT, so all connections share one LRU
// list); a page that finds no slot is an ordinary malloc, as before. More
// stores in one process (tests) work the same way.

// pageCacheSetup is what init did: the slots and their size, or why the
// buffer could not be set up (SQLite then allocates pages one by one).
var pageCacheSetup struct {
	slots, slotSize int
	err             error
}

// defaultCacheKiB is SQLite's default cache_size (-2000), which every
// connection but the writer keeps.
const defaultCacheKiB = 2000

// pageCacheSlots is the number of 4 KiB pages, slotSize bytes each, that
// the caches of one Store hold at their configured sizes.
func pageCacheSlots(slotSize int) int {
	conns := readerConns() + verifyConns() + 2 // the fold's and the checkpointer's
	kib := writerCacheKiB + conns*defaultCacheKiB
	return (kib<<10 + slotSize - 1) / slotSize
}

func init() {
	pageCacheSetup.slots, pageCacheSetup.slotSize, pageCacheSetup.err = setUpPageCache(4096)
}

// setUpPageCache gives SQLite a buffer of page slots for pages of
// pageSize bytes. It must run before any connection is opened.
func setUpPageCache(pageSize int) (slots, slotSize int, err error) {
	tls := libc.NewTLS()
	defer tls.Close()
	// Room for three variadic arguments, and for the header size SQLite
	// writes back.
	const word = 8
	va := libc.Xcalloc(tls, 4, word)
	if va == 0 {
		return 0, 0, fmt.Errorf("sqlite page cache: out of memory")
	}
	defer libc.Xfree(tls, va)
	hdr := va + 3*word
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_PCACHE_HDRSZ, libc.VaList(va, hdr)); rc != sqlite3.SQLITE_OK {
		return 0, 0, fmt.Errorf("sqlite page cache: header size: %s", libc.GoString(sqlite3.Xsqlite3_errstr(tls, rc)))
	}
	slotSize = (pageSize + int(int32(binary.NativeEndian.Uint32(libc.GoBytes(hdr, 4)))) + 7) &^ 7
	slots = pageCacheSlots(slotSize)
	buf := libc.Xmalloc(tls, types.Size_t(slots*slotSize)) // never freed: SQLite keeps it for the life of the process
	if buf == 0 {
		return 0, 0, fmt.Errorf("sqlite page cache: cannot reserve %d bytes", slots*slotSize)
	}
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_PAGECACHE, libc.VaList(va, buf, int32(slotSize), int32(slots))); rc != sqlite3.SQLITE_OK {
		libc.Xfree(tls, buf)
		return 0, 0, fmt.Errorf("sqlite page cache: %s (a connection was opened before this package's init)", libc.GoString(sqlite3.Xsqlite3_errstr(tls, rc)))
	}
	return slots, slotSize, nil
}
