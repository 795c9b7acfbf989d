/*
 * banned.h: functions we do not use (git's banned.h). Included last by every .c file
 * through base/common.h; using one is a compile error.
 */
#ifndef OMNIVA_BASE_BANNED_H
#define OMNIVA_BASE_BANNED_H

#define OM_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) OM_BANNED(strcpy)
#undef strcat
#define strcat(x, y) OM_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) OM_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) OM_BANNED(strncat)
#undef sprintf
#define sprintf(...) OM_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) OM_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) OM_BANNED(strtok)
#undef gets
#define gets(x) OM_BANNED(gets)

#endif
