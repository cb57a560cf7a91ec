/*
** gdnn_lua.c: gdnn-lua, a Lua 5.4 interpreter with gdnn built in.
**
** It takes the command line of lua5.4 (-e, -l, -i, -v, -E, -W, -, --,
** LUA_INIT_5_4 and LUA_INIT), preloads the gdnn module, looks for Lua
** modules in the lua/ folder beside the executable, in share/lua/5.4
** beside its bin/ folder (an installed prefix) and in GDNN_LUADIR,
** and opens a REPL when there is nothing else to run and stdin is a
** terminal. In the REPL the global gd holds the gdnn module and help(x)
** (or ?x) prints the description of a gdnn function or type.
**
** Limits: line editing, history and completion need stdin to be a
** terminal; from a pipe the REPL reads plain lines. Ctrl-C stops Lua code
** at its next instruction, call or return, so a long call into C finishes
** first; a second Ctrl-C during such a call ends the process. Folder names
** containing ';' or '?' are not added to package.path.
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/readline.h>
#include <readline/history.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "interrupt.h"

#ifndef GDNN_LUADIR
#define GDNN_LUADIR "/usr/local/share/lua/5.4"
#endif

#ifndef GDNN_VERSION
#define GDNN_VERSION "0.1.0"
#endif

#define PROGNAME "gdnn-lua"
#define HISTORY_NAME ".gdnn_history"
#define HISTORY_MAX 1000
#define EXE_PATH_MAX 4096
#define COMPLETIONS "gdnn-lua.completions"
#define SHARE_LUA "../share/lua/5.4"   /* from bin/, in a prefix */

/* The module itself, from the binding (lua_gdnn.c). */
int luaopen_gdnn(lua_State *L);

/* Which options the command line holds. */
enum {
  OPT_ERROR = 1,  /* a bad option: print usage and fail */
  OPT_E = 2,      /* -e: there is code to run */
  OPT_I = 4,      /* -i: a REPL after the script */
  OPT_V = 8,      /* -v: print the version */
  OPT_NOENV = 16  /* -E: ignore LUA_INIT and LUA_PATH */
};

static lua_State *running_state = NULL;   /* what Ctrl-C interrupts */
static lua_State *completion_state = NULL;
static volatile sig_atomic_t prompt_interrupted = 0;
static char *history_path = NULL;        /* malloc'd; NULL: no history */
static char *pending_line = NULL;        /* readline's finished line */
static int line_finished = 0;


/*
** Write msg on stderr, after "pname: " when pname is not NULL. The REPL
** passes NULL so its errors read as Lua wrote them.
*/
static void message(const char *pname, const char *msg) {
  if (pname != NULL)
    fprintf(stderr, "%s: ", pname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}


/*
** Show the error message on top of the stack when status is not LUA_OK,
** and pop it. Returns status unchanged.
*/
static int report(lua_State *L, int status, const char *pname) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    message(pname, msg != NULL ? msg : "(error object is not a string)");
    lua_pop(L, 1);
  }
  return status;
}


static void print_version(void) {
  printf("%s %s (gdnn) with %s\n", PROGNAME, GDNN_VERSION, LUA_COPYRIGHT);
  fflush(stdout);
}


/*
** Say what was wrong with the option at badopt, then list the options.
*/
static void print_usage(const char *badopt) {
  if (badopt[1] == 'e' || badopt[1] == 'l')
    fprintf(stderr, "%s: '%s' needs argument\n", PROGNAME, badopt);
  else
    fprintf(stderr, "%s: unrecognized option '%s'\n", PROGNAME, badopt);
  fprintf(stderr,
    "usage: %s [options] [script [args]]\n"
    "Available options are:\n"
    "  -e stat   run the Lua statement 'stat'\n"
    "  -i        open the REPL after running 'script'\n"
    "  -l mod    require module 'mod' into global 'mod'\n"
    "  -l g=mod  require module 'mod' into global 'g'\n"
    "  -v        print version information\n"
    "  -E        ignore LUA_INIT, LUA_PATH and LUA_CPATH\n"
    "  -W        turn warnings on\n"
    "  --        stop reading options\n"
    "  -         stop reading options and run stdin\n",
    PROGNAME);
  fflush(stderr);
}


/*
** The hook that Ctrl-C installs: it removes itself and raises an error
** in the code that was running.
*/
static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}


/*
** SIGINT while Lua runs: give the signal back its default action, so a
** second Ctrl-C ends a call stuck in C. A core loop that watches the
** interrupt flag (a search, training) is asked to finish its iteration
** and return what it has; other code is stopped at once through a hook
** (lua_sethook may be called from a signal handler).
*/
static void on_sigint_running(int sig) {
  int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  signal(sig, SIG_DFL);
  if (gd_interrupt_watched())
    gd_interrupt_request();     /* the core loop stops by itself */
  else if (running_state != NULL)
    lua_sethook(running_state, stop_hook, mask, 1);
}


/* SIGINT at the REPL prompt: the line being typed is dropped. */
static void on_sigint_prompt(int sig) {
  (void)sig;
  prompt_interrupted = 1;
}


/* Install handler for SIGINT, without restarting interrupted reads. */
static void set_sigint(void (*handler)(int), struct sigaction *old) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, old);
}


/*
** The message handler: a string message gets a traceback; another value
** with __tostring becomes its string; anything else is named by type.
*/
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)",
                          luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}


/*
** Call the function below the narg arguments on top of the stack, with
** the traceback handler and Ctrl-C armed. A stop hook still pending when
** the call ends is removed, so it cannot strike the next call.
*/
static int docall(lua_State *L, int narg, int nres) {
  struct sigaction old;
  int status;
  int base = lua_gettop(L) - narg;

  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  running_state = L;
  set_sigint(on_sigint_running, &old);
  status = lua_pcall(L, narg, nres, base);
  sigaction(SIGINT, &old, NULL);
  if (lua_gethook(L) == stop_hook)
    lua_sethook(L, NULL, 0, 0);
  running_state = NULL;
  lua_remove(L, base);
  return status;
}


/* Run the chunk just loaded, or report why it did not load. */
static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK)
    status = docall(L, 0, 0);
  return report(L, status, PROGNAME);
}


/* Run the file fname (stdin when NULL). */
static int dofile(lua_State *L, const char *fname) {
  return dochunk(L, luaL_loadfile(L, fname));
}


static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}


/*
** -l spec: spec is "g=mod" (module mod into global g) or "mod"; in the
** second form the global is mod up to its first '-', as lua5.4 does.
*/
static int dolibrary(lua_State *L, const char *spec) {
  const char *eq = strchr(spec, '=');
  const char *mod = eq != NULL ? eq + 1 : spec;
  size_t glen = eq != NULL ? (size_t)(eq - spec) : strcspn(spec, "-");
  int status;

  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  status = docall(L, 1, 1);               /* module value on top */
  if (status == LUA_OK) {
    lua_pushlstring(L, spec, glen);
    lua_insert(L, -2);
    lua_setglobal(L, lua_tostring(L, -2));
    lua_pop(L, 1);                        /* the global's name */
  }
  return report(L, status, PROGNAME);
}


/*
** Scan the options in argv. Sets *script to the index of the script
** name (0 when there is none) and returns a set of OPT_ flags; on a bad
** option *script is the index of that option instead.
*/
static int collect_args(char **argv, int *script) {
  int flags = 0;
  int i;
  for (i = 1; argv[i] != NULL; i++) {
    const char *a = argv[i];
    *script = i;
    if (a[0] != '-')
      return flags;
    if (a[1] == '\0')                    /* "-": stdin is the script */
      return flags;
    if (a[1] == '-') {
      if (a[2] != '\0')
        return flags | OPT_ERROR;
      *script = argv[i + 1] != NULL ? i + 1 : 0;
      return flags;
    }
    switch (a[1]) {
      case 'E': case 'W': case 'i': case 'v':
        if (a[2] != '\0')
          return flags | OPT_ERROR;
        flags |= a[1] == 'E' ? OPT_NOENV : a[1] == 'i' ? OPT_I | OPT_V
               : a[1] == 'v' ? OPT_V : 0;
        break;
      case 'e': case 'l':
        if (a[1] == 'e')
          flags |= OPT_E;
        if (a[2] == '\0') {
          if (argv[i + 1] == NULL || argv[i + 1][0] == '-')
            return flags | OPT_ERROR;
          i++;
        }
        break;
      default:
        return flags | OPT_ERROR;
    }
  }
  *script = 0;
  return flags;
}


/*
** Make the global arg: the script name at 0, its arguments at 1, 2, ...
** and the interpreter and its options at negative indices. Without a
** script the interpreter's name is at 0.
*/
static void create_arg(lua_State *L, char **argv, int argc, int script) {
  int i;
  lua_createtable(L, argc - script, script + 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}


/* Run the -e, -l and -W options before index end, in order. */
static int run_options(lua_State *L, char **argv, int end) {
  int i;
  for (i = 1; i < end; i++) {
    char opt = argv[i][1];
    if (opt == 'e' || opt == 'l') {
      const char *val = argv[i][2] != '\0' ? argv[i] + 2 : argv[++i];
      int status = opt == 'e' ? dostring(L, val, "=(command line)")
                              : dolibrary(L, val);
      if (status != LUA_OK)
        return 0;
    }
    else if (opt == 'W') {
      lua_warning(L, "@on", 0);
    }
  }
  return 1;
}


/*
** Run LUA_INIT_5_4, or LUA_INIT when that is not set: "@file" runs the
** file, anything else is run as code.
*/
static int run_init(lua_State *L) {
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (init == NULL)
    return LUA_OK;
  if (init[0] == '@')
    return dofile(L, init + 1);
  return dostring(L, init, name);
}


/*
** Load the script argv[0] (stdin for "-" unless "--" came before it) and
** call it with the positive entries of arg as its arguments.
*/
static int run_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  int status;
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0)
    fname = NULL;
  status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n, i;
    if (lua_getglobal(L, "arg") != LUA_TTABLE)
      luaL_error(L, "'arg' is not a table");
    n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (i = 1; i <= n; i++)
      lua_rawgeti(L, -i, i);
    lua_remove(L, -i);                    /* the arg table */
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status, PROGNAME);
}


/* Is there a folder at path? */
static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}


/*
** The folder holding the executable, into buf: from /proc/self/exe, or
** from argv0 when it names a path. Returns 0 when it cannot be known.
*/
static int exe_dir(const char *argv0, char *buf, size_t size) {
  ssize_t n = readlink("/proc/self/exe", buf, size - 1);
  char *slash;
  if (n > 0) {
    buf[n] = '\0';
  }
  else {
    if (argv0 == NULL || strchr(argv0, '/') == NULL
        || strlen(argv0) >= size)
      return 0;
    strcpy(buf, argv0);
  }
  slash = strrchr(buf, '/');
  if (slash == NULL)
    return 0;
  *slash = '\0';
  if (buf[0] == '\0')
    strcpy(buf, "/");
  return 1;
}


/* Add "dir/?.lua;dir/?/init.lua;" to b unless dir is unsafe in a path. */
static void add_templates(luaL_Buffer *b, const char *dir) {
  if (strpbrk(dir, ";?") != NULL)
    return;
  luaL_addstring(b, dir);
  luaL_addstring(b, "/?.lua;");
  luaL_addstring(b, dir);
  luaL_addstring(b, "/?/init.lua;");
}


/*
** Put the lua/ folder beside the executable (when it exists), then the
** share/lua/5.4 folder next to the executable's bin/ (when it holds
** gdnn, as in an installed prefix or a luarocks tree, wherever it was
** moved) and GDNN_LUADIR (unless package.path names it already) in
** front of package.path.
*/
static void set_path(lua_State *L, const char *argv0) {
  char dir[EXE_PATH_MAX];
  char probe[EXE_PATH_MAX + sizeof SHARE_LUA + 8];
  const char *old;
  luaL_Buffer b;

  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  old = lua_tostring(L, -1);
  luaL_buffinit(L, &b);
  if (exe_dir(argv0, dir, sizeof dir - 4)) {
    sprintf(probe, "%s/lua", dir);
    if (is_dir(probe))
      add_templates(&b, probe);
    sprintf(probe, "%s/%s/gdnn", dir, SHARE_LUA);
    if (is_dir(probe)) {
      probe[strlen(probe) - 5] = '\0';      /* drop "/gdnn" */
      add_templates(&b, probe);
    }
  }
  if (old == NULL || strstr(old, GDNN_LUADIR "/?.lua") == NULL)
    add_templates(&b, GDNN_LUADIR);
  luaL_addstring(&b, old != NULL ? old : "");
  luaL_pushresult(&b);
  lua_setfield(L, -3, "path");
  lua_pop(L, 2);                          /* old path and package */
}


/* Make require "gdnn" open the module linked into the executable. */
static void preload_gdnn(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_gdnn);
  lua_setfield(L, -2, "gdnn");
  lua_pop(L, 1);
}


/* readline's callback: keep the finished line (NULL at end of input). */
static void on_line(char *line) {
  pending_line = line;
  line_finished = 1;
  rl_callback_handler_remove();
}


/*
** Read one line from the terminal with readline, waiting in select so
** that Ctrl-C can end the wait. Returns a malloc'd line, or NULL at end
** of input; *intr is set when Ctrl-C dropped the line.
*/
static char *read_terminal(const char *prompt, int *intr) {
  int fd = fileno(stdin);
  pending_line = NULL;
  line_finished = 0;
  prompt_interrupted = 0;
  rl_callback_handler_install(prompt, on_line);
  while (!line_finished) {
    fd_set fds;
    int n;
    FD_ZERO(&fds);
    FD_SET(fd, &fds);
    n = select(fd + 1, &fds, NULL, NULL, NULL);
    if (n > 0) {
      rl_callback_read_char();
    }
    else if (n < 0 && errno == EINTR && prompt_interrupted) {
      rl_free_line_state();
      rl_callback_sigcleanup();
      rl_cleanup_after_signal();
      rl_callback_handler_remove();
      fputc('\n', stdout);
      fflush(stdout);
      *intr = 1;
      return NULL;
    }
    else if (n < 0 && errno != EINTR) {
      rl_callback_handler_remove();
      return NULL;
    }
  }
  return pending_line;
}


/*
** Read one line from a pipe or file, showing the prompt on stdout.
** Returns NULL at end of input, or with *intr set after Ctrl-C.
*/
static char *read_plain(const char *prompt, int *intr) {
  char *line = NULL;
  size_t cap = 0;
  prompt_interrupted = 0;
  fputs(prompt, stdout);
  fflush(stdout);
  if (getline(&line, &cap, stdin) < 0) {
    free(line);
    if (errno == EINTR && prompt_interrupted) {
      clearerr(stdin);
      fputc('\n', stdout);
      *intr = 1;
    }
    return NULL;
  }
  return line;
}


/*
** Push "help(s)" for the text s after '?', with s written as a
** Lua string literal, so "?gd.add" asks for the help of gd.add.
*/
static void push_help_call(lua_State *L, const char *s) {
  luaL_Buffer b;
  s += strspn(s, " \t");
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "help(\"");
  for (; *s != '\0' && *s != '\n'; s++) {
    if (*s == '"' || *s == '\\')
      luaL_addchar(&b, '\\');
    luaL_addchar(&b, *s);
  }
  while (luaL_bufflen(&b) > 0
         && strchr(" \t", luaL_buffaddr(&b)[luaL_bufflen(&b) - 1]))
    luaL_buffsub(&b, 1);
  luaL_addstring(&b, "\")");
  luaL_pushresult(&b);
}


/*
** Push the next line of input, without its newline, after the prompt
** _PROMPT (first line of a chunk) or _PROMPT2. Returns 1 with the line
** pushed, 0 at end of input, -1 when Ctrl-C dropped the line.
*/
static int push_line(lua_State *L, int first) {
  const char *prompt;
  char *line;
  size_t len;
  int intr = 0;

  lua_getglobal(L, first ? "_PROMPT" : "_PROMPT2");
  prompt = lua_tostring(L, -1);
  if (prompt == NULL)
    prompt = first ? "> " : ">> ";
  line = isatty(fileno(stdin)) ? read_terminal(prompt, &intr)
                               : read_plain(prompt, &intr);
  lua_pop(L, 1);                          /* the prompt */
  if (line == NULL)
    return intr ? -1 : 0;
  len = strlen(line);
  if (len > 0 && line[len - 1] == '\n')
    line[--len] = '\0';
  if (first && line[0] == '=')
    lua_pushfstring(L, "return %s", line + 1);
  else if (first && line[0] == '?')
    push_help_call(L, line + 1);
  else
    lua_pushlstring(L, line, len);
  free(line);
  return 1;
}


/* Put a chunk in the history, skipping blanks and repeats. */
static void remember(const char *chunk) {
  HIST_ENTRY *last;
  if (history_path == NULL || chunk[strspn(chunk, " \t\n")] == '\0')
    return;
  last = history_get(history_base + history_length - 1);
  if (last == NULL || strcmp(last->line, chunk) != 0)
    add_history(chunk);
}


/*
** Try the line on top of the stack as "return line", so an expression
** shows its values. On success the line is replaced by the function.
*/
static int load_as_return(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *code = lua_pushfstring(L, "return %s", line);
  int status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
  if (status == LUA_OK) {
    remember(line);
    lua_remove(L, -2);                    /* the "return" code */
    lua_remove(L, -2);                    /* the line */
  }
  else {
    lua_pop(L, 2);                        /* the message and the code */
  }
  return status;
}


/* Did loading fail only because the chunk stopped too early? */
static int incomplete(lua_State *L, int status) {
  size_t len;
  const char *msg;
  const size_t marklen = sizeof("<eof>") - 1;
  if (status != LUA_ERRSYNTAX)
    return 0;
  msg = lua_tolstring(L, -1, &len);
  return len >= marklen && strcmp(msg + len - marklen, "<eof>") == 0;
}


/*
** Load the code on top of the stack as statements, reading more lines
** while it is incomplete. Leaves the function or the error message in
** place of the code; returns -1 when Ctrl-C dropped it.
*/
static int load_statements(lua_State *L) {
  for (;;) {
    size_t len;
    const char *code = lua_tolstring(L, -1, &len);
    int status = luaL_loadbuffer(L, code, len, "=stdin");
    int more;
    if (!incomplete(L, status)) {
      remember(code);
      lua_remove(L, -2);                  /* the code */
      return status;
    }
    lua_pop(L, 1);                        /* the syntax error */
    more = push_line(L, 0);
    if (more < 0) {
      lua_pop(L, 1);                      /* the dropped code */
      return -1;
    }
    if (more == 0) {                      /* end of input: report it */
      luaL_loadbuffer(L, code, len, "=stdin");
      lua_remove(L, -2);
      return LUA_ERRSYNTAX;
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);                     /* code .. "\n" .. line */
  }
}


/*
** Read one chunk for the REPL: leaves its function (status LUA_OK) or an
** error message on the stack. Returns -1 at end of input.
*/
static int read_chunk(lua_State *L) {
  for (;;) {
    int got, status;
    lua_settop(L, 0);
    got = push_line(L, 1);
    if (got == 0)
      return -1;
    if (got < 0)
      continue;
    status = load_as_return(L);
    if (status != LUA_OK)
      status = load_statements(L);
    if (status >= 0)
      return status;
  }
}


/* Print the values on the stack with the global print. */
static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0)
    return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "print");
  lua_insert(L, 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    message(PROGNAME, lua_pushfstring(L, "error calling 'print' (%s)",
                                      msg != NULL ? msg : "?"));
  }
}


/* Called at exit, so os.exit keeps the session's history too. */
static void save_history(void) {
  if (history_path == NULL)
    return;
  write_history(history_path);           /* at most HISTORY_MAX chunks */
}


/*
** Completion of global names and of fields after '.' or ':', walking
** tables and the __index of metatables (a table, or the first upvalue
** of an __index function, where bindings keep methods). The walk runs
** in Lua protected mode: its argument is the text typed, and it returns
** a table of candidate completions.
*/
static int collect_completions(lua_State *L) {
  const char *text = luaL_checkstring(L, 1);
  const char *sep = strpbrk(text, ".:");
  const char *start = text;
  const char *word;
  int depth, n = 0;

  lua_newtable(L);                        /* results, at index 2 */
  lua_pushglobaltable(L);
  while (sep != NULL) {                   /* walk "a.b." */
    lua_pushlstring(L, start, (size_t)(sep - start));
    lua_gettable(L, -2);
    lua_remove(L, -2);
    start = sep + 1;
    sep = strpbrk(start, ".:");
  }
  word = start;
  for (depth = 0; depth < 4 && !lua_isnil(L, -1); depth++) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        size_t len;
        const char *k;
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
          continue;
        k = lua_tolstring(L, -1, &len);
        if (strncmp(k, word, strlen(word)) == 0) {
          lua_pushfstring(L, "%s%s", text, k + strlen(word));
          lua_rawseti(L, 2, ++n);
        }
      }
    }
    if (!luaL_getmetafield(L, -1, "__index"))
      break;
    if (lua_type(L, -1) == LUA_TFUNCTION
        && lua_getupvalue(L, -1, 1) != NULL)
      lua_remove(L, -2);                  /* a method table it closes on */
    lua_remove(L, -2);                    /* follow __index */
  }
  lua_settop(L, 2);
  return 1;
}


/*
** readline's generator: on the first call collect the candidates into
** the registry, then hand them out one by one as malloc'd strings. The
** stack, which may hold a chunk being typed, is left as it was.
*/
static char *next_completion(const char *text, int state) {
  static int index, count;
  lua_State *L = completion_state;
  char *match = NULL;
  if (L == NULL || !lua_checkstack(L, 4))
    return NULL;
  if (state == 0) {
    lua_pushcfunction(L, collect_completions);
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
      lua_pop(L, 1);                      /* the error */
      lua_newtable(L);
    }
    count = (int)lua_rawlen(L, -1);
    index = 0;
    lua_setfield(L, LUA_REGISTRYINDEX, COMPLETIONS);
  }
  if (index < count) {
    lua_getfield(L, LUA_REGISTRYINDEX, COMPLETIONS);
    lua_rawgeti(L, -1, ++index);
    match = strdup(lua_tostring(L, -1));
    lua_pop(L, 2);                        /* the name and the table */
  }
  return match;
}


/* readline's completion entry: Lua names only, never file names. */
static char **complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1;       /* no file names */
  rl_completion_append_character = '\0';
  return rl_completion_matches(text, next_completion);
}


/*
** Set up readline for a terminal: completion of Lua names and the
** history in ~/.gdnn_history, bounded to HISTORY_MAX entries and saved
** at exit (also through os.exit).
*/
static void init_terminal(void) {
  const char *home = getenv("HOME");
  rl_readline_name = "gdnn-lua";
  rl_catch_signals = 0;
  rl_basic_word_break_characters = " \t\n\"'`<>=;+-*/%^~#&|,()[]{}?";
  rl_attempted_completion_function = complete;
  using_history();
  stifle_history(HISTORY_MAX);
  history_comment_char = '#';             /* timestamps mark where */
  history_write_timestamps = 1;           /* multi-line chunks start */
  if (home == NULL || home[0] == '\0')
    return;
  history_path = malloc(strlen(home) + sizeof(HISTORY_NAME) + 1);
  if (history_path == NULL)
    return;
  sprintf(history_path, "%s/%s", home, HISTORY_NAME);
  read_history(history_path);
  atexit(save_history);
}


/*
** The REPL's globals: gd, the gdnn module, and help, the function of
** gdnn.help (when that module is found) that prints the description
** and example of a gdnn name or value.
*/
static void set_repl_globals(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "gdnn");
  if (report(L, docall(L, 1, 1), NULL) == LUA_OK)
    lua_setglobal(L, "gd");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "gdnn.help");
  if (report(L, docall(L, 1, 1), NULL) != LUA_OK)
    return;
  if (lua_istable(L, -1) && lua_getfield(L, -1, "help") == LUA_TFUNCTION)
    lua_setglobal(L, "help");
  else
    lua_pop(L, 1);                        /* not a function */
  lua_pop(L, 1);                          /* the module */
}


/*
** The REPL: read a chunk, run it, print what it returns, until end of
** input. Errors show with their traceback and the session goes on;
** Ctrl-C drops the line being typed or stops the running chunk.
*/
static void run_repl(lua_State *L) {
  struct sigaction old;
  int status;
  int terminal = isatty(fileno(stdin));

  set_repl_globals(L);
  if (terminal)
    init_terminal();
  set_sigint(on_sigint_prompt, &old);
  completion_state = terminal ? L : NULL;
  for (;;) {
    status = read_chunk(L);
    if (status < 0)
      break;
    if (status == LUA_OK)
      status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      print_results(L);
    else
      report(L, status, NULL);
  }
  completion_state = NULL;
  sigaction(SIGINT, &old, NULL);
  lua_settop(L, 0);
  fputc('\n', stdout);
  fflush(stdout);
}


/*
** The protected main: everything that may raise a Lua error runs here.
** Returns true on the stack when all went well.
*/
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script;
  int flags = collect_args(argv, &script);
  int end = script > 0 ? script : argc;

  luaL_checkversion(L);
  if (flags & OPT_ERROR) {
    print_usage(argv[script]);
    return 0;
  }
  if (flags & OPT_V)
    print_version();
  if (flags & OPT_NOENV) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  preload_gdnn(L);
  set_path(L, argv[0]);
  create_arg(L, argv, argc, script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!(flags & OPT_NOENV) && run_init(L) != LUA_OK)
    return 0;
  if (!run_options(L, argv, end))
    return 0;
  if (script > 0 && run_script(L, argv + script) != LUA_OK)
    return 0;
  if (flags & OPT_I) {
    run_repl(L);
  }
  else if (script == 0 && !(flags & (OPT_E | OPT_V))) {
    if (isatty(fileno(stdin))) {
      print_version();
      run_repl(L);
    }
    else if (dofile(L, NULL) != LUA_OK) {
      return 0;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** Run pmain in protected mode, so that even a memory error while
** setting up is reported; the exit status follows lua5.4's.
*/
int main(int argc, char **argv) {
  static char name[] = PROGNAME;
  char *noargs[] = { name, NULL };
  int status, ok;
  lua_State *L = luaL_newstate();
  if (argc < 1 || argv[0] == NULL) {     /* started without argv[0] */
    argc = 1;
    argv = noargs;
  }
  if (L == NULL) {
    message(PROGNAME, "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  status = lua_pcall(L, 2, 1, 0);
  ok = lua_toboolean(L, -1);
  report(L, status, PROGNAME);
  lua_close(L);
  return (ok && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
