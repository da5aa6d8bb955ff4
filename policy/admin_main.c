/*
 * s3gate-admin: see policy/admin.h and INTERFACE.md.  admin_main() is
 * admin_run(argc, argv, stdout, stderr); calling it (defined only in
 * admin.c) also makes sure the linker takes admin.o from libs3gate.a.
 */
#include "policy/admin.h"

int
main(int argc, char **argv)
{
	return admin_main(argc, argv);
}
