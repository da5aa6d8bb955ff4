/*
 * s3gate-admin: see policy/admin.h and INTERFACE.md.
 */
#include "policy/admin.h"

int
main(int argc, char **argv)
{
	return admin_main(argc, argv);
}
