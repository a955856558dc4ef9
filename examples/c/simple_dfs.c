/*
 * simple_dfs: a plain DFS user program of the kind DAOS's documentation describes, written
 * only against the public API (daos.h and daos_fs.h): connect to a pool and container by
 * label (creating the container if needed), build a directory tree, write files, read them
 * back and compare, list a directory, remove everything, disconnect.
 *
 * usage: simple_dfs <pool> <container>
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <daos.h>
#include <daos_fs.h>

#define NUM_DIRS  3
#define NUM_FILES 4
#define FILE_SIZE (256 * 1024)

#define check(rc, what)                                                                     \
	do {                                                                                \
		if ((rc) != 0) {                                                            \
			fprintf(stderr, "%s:%d: %s failed: %d (%s)\n", __FILE__, __LINE__,  \
				what, (rc), strerror(rc));                                  \
			exit(1);                                                            \
		}                                                                           \
	} while (0)

#define fail(...)                                                                           \
	do {                                                                                \
		fprintf(stderr, __VA_ARGS__);                                               \
		fprintf(stderr, "\n");                                                      \
		exit(1);                                                                    \
	} while (0)

static void fill(char *buf, size_t len, int d, int f)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)((i * 31 + (size_t)d * 7 + (size_t)f * 13) & 0xff);
}

int main(int argc, char **argv)
{
	dfs_t        *dfs;
	dfs_obj_t    *top, *dir, *file;
	d_sg_list_t   sgl;
	d_iov_t       iov;
	daos_size_t   read_size, size;
	daos_anchor_t anchor = {0};
	struct dirent entries[8];
	uint32_t      nr;
	char         *wbuf, *rbuf;
	char          name[64], path[128];
	int           d, f, rc, found;

	if (argc != 3) {
		fprintf(stderr, "usage: %s <pool> <container>\n", argv[0]);
		return 2;
	}

	rc = dfs_init();
	check(rc, "dfs_init");

	/* connect to the pool and the container, creating a POSIX container if missing */
	rc = dfs_connect(argv[1], NULL, argv[2], O_CREAT | O_RDWR, NULL, &dfs);
	check(rc, "dfs_connect");

	wbuf = malloc(FILE_SIZE);
	rbuf = malloc(FILE_SIZE);
	if (wbuf == NULL || rbuf == NULL)
		fail("out of memory");

	/* /simple/dir<d>/file<f> */
	rc = dfs_mkdir(dfs, NULL, "simple", 0755, 0);
	check(rc, "dfs_mkdir /simple");
	rc = dfs_lookup(dfs, "/simple", O_RDWR, &top, NULL, NULL);
	check(rc, "dfs_lookup /simple");

	for (d = 0; d < NUM_DIRS; d++) {
		snprintf(name, sizeof(name), "dir%d", d);
		rc = dfs_mkdir(dfs, top, name, 0755, 0);
		check(rc, "dfs_mkdir");
		snprintf(path, sizeof(path), "/simple/%s", name);
		rc = dfs_lookup(dfs, path, O_RDWR, &dir, NULL, NULL);
		check(rc, "dfs_lookup");

		for (f = 0; f < NUM_FILES; f++) {
			snprintf(name, sizeof(name), "file%d", f);
			rc = dfs_open(dfs, dir, name, S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR, 0,
				      0, NULL, &file);
			check(rc, "dfs_open (create)");

			fill(wbuf, FILE_SIZE, d, f);
			d_iov_set(&iov, wbuf, FILE_SIZE);
			sgl.sg_nr     = 1;
			sgl.sg_nr_out = 0;
			sgl.sg_iovs   = &iov;
			rc            = dfs_write(dfs, file, &sgl, 0, NULL);
			check(rc, "dfs_write");
			rc = dfs_release(file);
			check(rc, "dfs_release");
		}
		rc = dfs_release(dir);
		check(rc, "dfs_release");
	}

	/* read every file back and compare */
	for (d = 0; d < NUM_DIRS; d++) {
		for (f = 0; f < NUM_FILES; f++) {
			snprintf(path, sizeof(path), "/simple/dir%d/file%d", d, f);
			rc = dfs_lookup(dfs, path, O_RDONLY, &file, NULL, NULL);
			check(rc, "dfs_lookup (file)");
			rc = dfs_get_size(dfs, file, &size);
			check(rc, "dfs_get_size");
			if (size != FILE_SIZE)
				fail("%s: size %llu, expected %d", path, (unsigned long long)size,
				     FILE_SIZE);

			memset(rbuf, 0, FILE_SIZE);
			d_iov_set(&iov, rbuf, FILE_SIZE);
			sgl.sg_nr     = 1;
			sgl.sg_nr_out = 0;
			sgl.sg_iovs   = &iov;
			rc            = dfs_read(dfs, file, &sgl, 0, &read_size, NULL);
			check(rc, "dfs_read");
			if (read_size != FILE_SIZE)
				fail("%s: read %llu bytes", path, (unsigned long long)read_size);
			fill(wbuf, FILE_SIZE, d, f);
			if (memcmp(wbuf, rbuf, FILE_SIZE) != 0)
				fail("%s: data differs", path);
			rc = dfs_release(file);
			check(rc, "dfs_release");
		}
	}

	/* list /simple */
	found = 0;
	while (!daos_anchor_is_eof(&anchor)) {
		uint32_t i;

		nr = 8;
		rc = dfs_readdir(dfs, top, &anchor, &nr, entries);
		check(rc, "dfs_readdir");
		for (i = 0; i < nr; i++) {
			if (strncmp(entries[i].d_name, "dir", 3) != 0)
				fail("unexpected entry %s", entries[i].d_name);
			found++;
		}
	}
	if (found != NUM_DIRS)
		fail("readdir found %d entries, expected %d", found, NUM_DIRS);

	/* remove the tree: files first, then directories */
	for (d = 0; d < NUM_DIRS; d++) {
		snprintf(path, sizeof(path), "/simple/dir%d", d);
		rc = dfs_lookup(dfs, path, O_RDWR, &dir, NULL, NULL);
		check(rc, "dfs_lookup");
		for (f = 0; f < NUM_FILES; f++) {
			snprintf(name, sizeof(name), "file%d", f);
			rc = dfs_remove(dfs, dir, name, false, NULL);
			check(rc, "dfs_remove (file)");
		}
		rc = dfs_release(dir);
		check(rc, "dfs_release");
		snprintf(name, sizeof(name), "dir%d", d);
		rc = dfs_remove(dfs, top, name, false, NULL);
		check(rc, "dfs_remove (dir)");
	}
	rc = dfs_release(top);
	check(rc, "dfs_release");
	rc = dfs_remove(dfs, NULL, "simple", false, NULL);
	check(rc, "dfs_remove /simple");

	rc = dfs_disconnect(dfs);
	check(rc, "dfs_disconnect");
	rc = dfs_fini();
	check(rc, "dfs_fini");
	free(wbuf);
	free(rbuf);
	printf("simple_dfs: done\n");
	return 0;
}
