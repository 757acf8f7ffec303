// ingestd: the verified webhook edge (SPEC §3).
#include "ingest/ingestd_app.h"

int main(int argc, char** argv) { return wi::ingest::run_ingestd(argc, argv); }
