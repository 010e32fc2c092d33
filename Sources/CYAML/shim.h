#ifndef BEARER_CYAML_H
#define BEARER_CYAML_H
#include <yaml.h>
#endif
