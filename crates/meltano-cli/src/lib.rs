//! The command line of `meltano`, as clap structures and nothing else.
//!
//! Doc comments here are the `--help` text. Flags, names and choices follow Meltano 4.4.1 so that
//! scripts written for it keep working. No IO happens in this crate.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod env_bool;
pub use env_bool::EnvBool;

/// Help layout close to the one click prints for Meltano.
const HELP_TEMPLATE: &str = "Usage: {usage}\n\n{about-with-newline}\n{all-args}";

/// The choices of `--plugin-type`.
const PLUGIN_TYPES: [&str; 18] = [
    "extractor",
    "extractors",
    "loader",
    "loaders",
    "transform",
    "transforms",
    "orchestrator",
    "orchestrators",
    "transformer",
    "transformers",
    "file",
    "files",
    "utility",
    "utilities",
    "mapper",
    "mappers",
    "mapping",
    "mappings",
];

/// Your CLI for ELT+
///
/// Read more at https://docs.meltano.com/reference/command-line-interface
#[derive(Debug, Parser)]
#[command(
    name = "meltano",
    bin_name = "meltano",
    disable_version_flag = true,
    disable_help_subcommand = true,
    help_template = HELP_TEMPLATE,
    subcommand_help_heading = "Commands",
    subcommand_value_name = "COMMAND",
    override_usage = "meltano [OPTIONS] [COMMAND] [ARGS]..."
)]
pub struct Cli {
    /// Set the log level. 'disabled' will suppress all logging output.
    #[arg(long, value_enum)]
    pub log_level: Option<LogLevel>,

    /// A shortcut for setting the format of the log output.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,

    /// Path to a python logging yaml config file.
    #[arg(long, value_name = "TEXT")]
    pub log_config: Option<String>,

    /// Meltano environment name.
    #[arg(long, value_name = "TEXT")]
    pub environment: Option<String>,

    /// Don't use any environment.
    #[arg(long)]
    pub no_environment: bool,

    /// Run Meltano as if it had been started in the specified directory.
    #[arg(long, value_name = "DIRECTORY")]
    pub cwd: Option<PathBuf>,

    /// A dotenv file to read instead of the project's `.env`.
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    /// Show the version and exit.
    #[arg(long)]
    pub version: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Console log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
    Disabled,
}

/// Console log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Colored,
    Uncolored,
    Json,
    #[value(alias = "key_value")]
    KeyValue,
    Plain,
}

/// The commands of `meltano`.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; boxing buys nothing
pub enum Command {
    /// Add a plugin to your project.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano add [OPTIONS] PLUGIN...")]
    Add(AddArgs),
    /// Compile a Meltano project into environment-specific manifest files.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano compile [OPTIONS]")]
    Compile(CompileArgs),
    /// Display Meltano or plugin configuration.
    #[command(
        help_template = HELP_TEMPLATE,
        subcommand_value_name = "COMMAND",
        override_usage = "meltano config [OPTIONS] [COMMAND] [ARGS]..."
    )]
    Config(ConfigArgs),
    /// Run an EL pipeline to Extract and Load data.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano el [OPTIONS] EXTRACTOR LOADER")]
    El(ElArgs),
    /// Run an ELT pipeline to Extract, Load, and Transform data.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano elt [OPTIONS] EXTRACTOR LOADER")]
    Elt(EltArgs),
    /// Manage environments.
    #[command(
        help_template = HELP_TEMPLATE,
        subcommand_value_name = "COMMAND",
        override_usage = "meltano environment [OPTIONS] COMMAND [ARGS]..."
    )]
    Environment(EnvironmentArgs),
    /// Interact with Meltano Hub.
    #[command(
        help_template = HELP_TEMPLATE,
        subcommand_value_name = "COMMAND",
        override_usage = "meltano hub [OPTIONS] COMMAND [ARGS]..."
    )]
    Hub(HubArgs),
    /// Create a new Meltano project.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano init [OPTIONS] [PROJECT_DIRECTORY]")]
    Init(InitArgs),
    /// Install project dependencies.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano install [OPTIONS] [PLUGIN]...")]
    Install(InstallCommandArgs),
    /// Lock plugin definitions.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano lock [OPTIONS] [PLUGIN_NAME]...")]
    Lock(LockArgs),
    /// Invoke a plugin.
    #[command(
        help_template = HELP_TEMPLATE,
        override_usage = "meltano invoke [OPTIONS] PLUGIN_NAME[:COMMAND_NAME] [PLUGIN_ARGS]..."
    )]
    Invoke(InvokeArgs),
    /// Manage jobs.
    #[command(
        help_template = HELP_TEMPLATE,
        subcommand_value_name = "COMMAND",
        override_usage = "meltano job [OPTIONS] COMMAND [ARGS]...",
        long_about = JOB_HELP
    )]
    Job(JobArgs),
    /// View and manage Meltano job logs.
    #[command(
        help_template = HELP_TEMPLATE,
        subcommand_value_name = "COMMAND",
        override_usage = "meltano logs [OPTIONS] COMMAND [ARGS]..."
    )]
    Logs(LogsArgs),
    /// Manage project plugins.
    #[command(
        help_template = HELP_TEMPLATE,
        subcommand_value_name = "COMMAND",
        override_usage = "meltano plugin [OPTIONS] COMMAND [ARGS]..."
    )]
    Plugin(PluginArgs),
    /// Remove plugins from your project.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano remove [OPTIONS] PLUGIN...")]
    Remove(RemoveArgs),
    /// Run a set of command blocks in series.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano run [OPTIONS] [BLOCKS]...")]
    Run(RunArgs),
    /// Manage pipeline schedules.
    #[command(
        help_template = HELP_TEMPLATE,
        subcommand_value_name = "COMMAND",
        override_usage = "meltano schedule [OPTIONS] COMMAND [ARGS]...",
        long_about = SCHEDULE_HELP
    )]
    Schedule(ScheduleArgs),
    /// Manage extractor selection patterns.
    #[command(
        help_template = HELP_TEMPLATE,
        override_usage = "meltano select [OPTIONS] EXTRACTOR [STREAMS_FILTER] [PROPERTIES_FILTER]"
    )]
    Select(SelectArgs),
    /// Manage Singer state.
    #[command(
        help_template = HELP_TEMPLATE,
        subcommand_value_name = "COMMAND",
        override_usage = "meltano state [OPTIONS] COMMAND [ARGS]..."
    )]
    State(StateArgs),
    /// Run validations using plugins' tests.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano test [OPTIONS] [PLUGIN_TESTS]...")]
    Test(TestArgs),
}

impl Command {
    /// The command's name as typed, for messages such as "`meltano add` must be run inside a project".
    pub fn name(&self) -> &'static str {
        match self {
            Command::Add(_) => "add",
            Command::Compile(_) => "compile",
            Command::Config(_) => "config",
            Command::El(_) => "el",
            Command::Elt(_) => "elt",
            Command::Environment(_) => "environment",
            Command::Hub(_) => "hub",
            Command::Init(_) => "init",
            Command::Lock(_) => "lock",
            Command::Install(_) => "install",
            Command::Invoke(_) => "invoke",
            Command::Job(_) => "job",
            Command::Logs(_) => "logs",
            Command::Run(_) => "run",
            Command::Schedule(_) => "schedule",
            Command::Select(_) => "select",
            Command::State(_) => "state",
            Command::Test(_) => "test",
            Command::Plugin(_) => "plugin",
            Command::Remove(_) => "remove",
        }
    }
}

/// Compile a Meltano project into environment-specific manifest files.
///
/// This command is in beta, and subject to change without corresponding semantic version updates.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#compile
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The path of the directory into which the manifest json files will be written
    /// [default: .meltano/manifests]
    #[arg(long, value_name = "DIRECTORY")]
    pub directory: Option<PathBuf>,

    /// The number of spaces to use for indentation in the manifest JSON files. Set to -1 to remove
    /// all non-essential whitespace.
    #[arg(
        long,
        value_name = "INTEGER",
        default_value_t = 4,
        allow_negative_numbers = true
    )]
    pub indent: i64,

    /// Validate the project files and generated manifest files against the Meltano schema
    #[arg(long, overrides_with = "no_lint")]
    pub lint: bool,

    /// Do not validate (the default).
    #[arg(long)]
    pub no_lint: bool,

    /// Show sensitive values as `(redacted)` (the default).
    #[arg(long, overrides_with = "unsafe_")]
    pub safe: bool,

    /// Expose values for sensitive settings.
    #[arg(long = "unsafe")]
    pub unsafe_: bool,

    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// `--database-uri`, shared by commands that touch the system database.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// System database URI.
    #[arg(long, value_name = "TEXT")]
    pub database_uri: Option<String>,
}

/// Create a new Meltano project.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#init
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to create; asked for when not given.
    pub project_directory: Option<PathBuf>,

    /// Do not send anonymous usage stats.
    #[arg(long)]
    pub no_usage_stats: bool,

    /// Overwrite `meltano.yml` if it exists in the project directory.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Add a plugin to your project.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#add
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The plugins to add.
    #[arg(required = true, value_name = "PLUGIN")]
    pub plugins: Vec<String>,

    /// The plugin type; inferred from the name (`tap-`, `target-`, else utility) when not given.
    #[arg(long, value_parser = PLUGIN_TYPES)]
    pub plugin_type: Option<String>,

    /// Add a plugin inheriting from an existing plugin in the project or a discoverable plugin
    /// identified, by name.
    #[arg(long, value_name = "TEXT")]
    pub inherit_from: Option<String>,

    /// Add a specific (non-default) variant of the identified discoverable plugin.
    #[arg(long, value_name = "TEXT")]
    pub variant: Option<String>,

    /// Shorthand for '--inherit-from', that can be used to add a discoverable plugin to your
    /// project with a different name. Usage: add <inherit-from> --as <name>
    #[arg(long = "as", value_name = "TEXT")]
    pub as_name: Option<String>,

    /// Reference a plugin definition to add from (a YAML file).
    #[arg(long, value_name = "TEXT")]
    pub from_ref: Option<String>,

    /// The Python version to use for the plugin.
    #[arg(long, value_name = "TEXT")]
    pub python: Option<String>,

    /// Add a custom plugin. The command will prompt you for the package's base plugin description
    /// metadata, unless the answers are given with the flags below.
    #[arg(long)]
    pub custom: bool,

    /// With --custom: the plugin's namespace (default: the name with underscores).
    #[arg(long, value_name = "TEXT", requires = "custom")]
    pub namespace: Option<String>,

    /// With --custom: the `pip install` argument, or `n` for none (default: the name).
    #[arg(long, value_name = "TEXT", requires = "custom")]
    pub pip_url: Option<String>,

    /// With --custom: the executable (default: derived from the pip URL).
    #[arg(long, value_name = "TEXT", requires = "custom")]
    pub executable: Option<String>,

    /// With --custom: comma-separated capabilities of an extractor (default: none).
    #[arg(long, value_name = "TEXT", requires = "custom")]
    pub capabilities: Option<String>,

    /// With --custom: comma-separated settings as `name[:kind]` (default: none).
    #[arg(long, value_name = "TEXT", requires = "custom")]
    pub settings: Option<String>,

    /// Install the subject plugin(s) automatically.
    #[arg(long, overrides_with = "no_install")]
    pub install: bool,

    /// Do not install the subject plugin(s) automatically.
    #[arg(long)]
    pub no_install: bool,

    /// Ignore the required Python version declared by the plugins.
    #[arg(long)]
    pub force_install: bool,

    /// Refresh the definition of a plugin that is already in the project (default).
    #[arg(long, hide = true, overrides_with = "no_update")]
    pub update: bool,

    /// Keep the definition of a plugin that is already in the project.
    #[arg(long, hide = true)]
    pub no_update: bool,

    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Remove plugins from your project.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#remove
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The plugins to remove.
    #[arg(required = true, value_name = "PLUGIN")]
    pub plugins: Vec<String>,

    /// The plugin type; inferred from the name when not given.
    #[arg(long, value_parser = PLUGIN_TYPES)]
    pub plugin_type: Option<String>,

    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Manage Environments.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#environment
#[derive(Debug, Args)]
pub struct EnvironmentArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,

    #[command(subcommand)]
    pub command: EnvironmentCommand,
}

/// The subcommands of `meltano environment`.
#[derive(Debug, Subcommand)]
pub enum EnvironmentCommand {
    /// Add a new environment.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano environment add [OPTIONS] NAME")]
    Add {
        /// The environment's name.
        name: String,
    },
    /// List available environments.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano environment list [OPTIONS]")]
    List,
    /// Remove an environment.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano environment remove [OPTIONS] NAME")]
    Remove {
        /// The environment's name.
        name: String,
    },
}

/// Manage jobs.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#jobs
#[derive(Debug, Args)]
pub struct JobArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,

    #[command(subcommand)]
    pub command: JobCommand,
}

/// `meltano job --help`: what a job is, with examples.
const JOB_HELP: &str = "Manage jobs.

A job is a named list of tasks; each task is a set of blocks as `meltano run` takes them.

Example usage:

    meltano job list [JOB_NAME] [--format json]
    meltano job add NAME --tasks 'tap mapper target command:arg1'
    meltano job add NAME --tasks '[\"tap mapper target\", \"tap2 target2\"]'
    meltano job add NAME --tasks '[[\"tap target dbt:run\", \"tap2 target2\"], \"dbt:test\"]'
    meltano job set NAME --tasks '...'
    meltano job remove NAME

Read more at https://docs.meltano.com/reference/command-line-interface#jobs";

/// The subcommands of `meltano job`.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Add a new job with tasks.
    ///
    /// The tasks are YAML: one string of blocks, or a list of strings and lists of strings.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano job add [OPTIONS] JOB_NAME")]
    Add {
        /// The job's name.
        #[arg(value_name = "JOB_NAME")]
        job_name: String,
        /// Tasks that will be run as part of this job.
        #[arg(long, value_name = "TEXT")]
        tasks: String,
    },
    /// List job(s).
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano job list [OPTIONS] [JOB_NAME]")]
    List {
        /// Only this job.
        #[arg(value_name = "JOB_NAME")]
        job_name: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Remove a job.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano job remove [OPTIONS] JOB_NAME")]
    Remove {
        /// The job's name.
        #[arg(value_name = "JOB_NAME")]
        job_name: String,
    },
    /// Update an existing jobs tasks.
    ///
    /// The tasks are YAML: one string of blocks, or a list of strings and lists of strings.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano job set [OPTIONS] JOB_NAME")]
    Set {
        /// The job's name.
        #[arg(value_name = "JOB_NAME")]
        job_name: String,
        /// Tasks that will be run as part of this job.
        #[arg(long, value_name = "TEXT")]
        tasks: String,
    },
}

/// `meltano schedule --help`.
const SCHEDULE_HELP: &str = "Manage pipeline schedules.

`meltano schedule NAME ...` is `meltano schedule add NAME ...`.

Read more at https://docs.meltano.com/reference/command-line-interface#schedule";

/// Manage pipeline schedules.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#schedule
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,

    #[command(subcommand)]
    pub command: ScheduleCommand,
}

/// The subcommands of `meltano schedule`; `add` is the default (see [`normalize_args`]).
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// [default] Add a new schedule.
    ///
    /// Schedules can be used to run Meltano jobs or ELT tasks at a specific interval. The --job
    /// option and the --extractor/--loader options are mutually exclusive.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano schedule add [OPTIONS] NAME")]
    Add(ScheduleAddArgs),
    /// List available schedules.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano schedule list [OPTIONS]")]
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Remove a schedule.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano schedule remove [OPTIONS] NAME")]
    Remove {
        /// The schedule's name.
        name: String,
    },
    /// Run a schedule.
    ///
    /// Runs `meltano run [ELT_OPTIONS]... JOB` for a job schedule, or `meltano elt EXTRACTOR LOADER
    /// --transform=... --state-id=NAME [ELT_OPTIONS]...` for an ELT schedule, with the schedule's
    /// `env`, and exits with its exit code.
    #[command(
        help_template = HELP_TEMPLATE,
        override_usage = "meltano schedule run [OPTIONS] NAME [ELT_OPTIONS]..."
    )]
    Run {
        /// The schedule's name.
        name: String,
        /// Passed to `meltano run` or `meltano elt` as they are.
        #[arg(
            value_name = "ELT_OPTIONS",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        elt_options: Vec<String>,
    },
    /// Update a schedule.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano schedule set [OPTIONS] NAME")]
    Set(ScheduleSetArgs),
    /// Run the schedules at their times, in the foreground (for a container or a systemd unit).
    ///
    /// Each due schedule runs as `meltano schedule run NAME`; a schedule never runs twice at once
    /// (a due time that comes while its previous run is going is skipped), runs missed while the
    /// scheduler was not running are not caught up, and due times missed while it fell behind are
    /// coalesced into one run. Times are read in the local time zone (`TZ`, which the project's
    /// `.env` may set). SIGTERM or Ctrl-C stops it gracefully: no new runs start and running ones
    /// finish and save their state; a second signal passes SIGTERM on to them.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano schedule start [OPTIONS]")]
    Start,
    /// Export the schedules for another scheduler: a crontab, or Kubernetes CronJob manifests.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano schedule export [OPTIONS]")]
    Export(ScheduleExportArgs),
}

/// What `meltano schedule export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Crontab lines running `meltano schedule run NAME` in this project.
    Crontab,
    /// One Kubernetes CronJob per schedule (concurrencyPolicy Forbid).
    Kubernetes,
}

/// `meltano schedule export`.
#[derive(Debug, Args)]
pub struct ScheduleExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Crontab)]
    pub format: ExportFormat,

    /// Kubernetes: the container image holding the project and `meltano`.
    #[arg(long, value_name = "IMAGE", default_value = "meltano-project:latest")]
    pub image: String,

    /// Kubernetes: the Secret whose keys become the container's environment (the project's `.env`).
    #[arg(long, value_name = "NAME")]
    pub secret: Option<String>,

    /// Kubernetes: the namespace of the CronJobs.
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,

    /// The IANA time zone the cron expressions are read in (default: `TZ`).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Kubernetes: the project's directory inside the image.
    #[arg(long, value_name = "DIR", default_value = "/project")]
    pub working_dir: String,
}

/// `meltano schedule add`.
#[derive(Debug, Args)]
pub struct ScheduleAddArgs {
    /// The schedule's name.
    pub name: String,

    /// Interval of the schedule. One of @once, @manual, @none, @hourly, @daily, @weekly, @monthly,
    /// @yearly, @annually, @midnight or a cron expression.
    #[arg(long, value_name = "CRON")]
    pub interval: String,

    /// The name of the job to run.
    #[arg(long, value_name = "TEXT")]
    pub job: Option<String>,

    /// ELT Only
    #[arg(long, value_name = "TEXT")]
    pub extractor: Option<String>,

    /// ELT Only
    #[arg(long, value_name = "TEXT")]
    pub loader: Option<String>,

    /// ELT Only
    #[arg(long, value_enum, default_value_t = Transform::Skip)]
    pub transform: Transform,
}

/// `meltano schedule set`.
#[derive(Debug, Args)]
pub struct ScheduleSetArgs {
    /// The schedule's name.
    pub name: String,

    /// Update the interval of the schedule. One of @once, @manual, @none, @hourly, @daily, @weekly,
    /// @monthly, @yearly, @annually, @midnight or a cron expression.
    #[arg(long, value_name = "CRON")]
    pub interval: Option<String>,

    /// Update the name of the job to run a scheduled job.
    #[arg(long, value_name = "TEXT")]
    pub job: Option<String>,

    /// Update the extractor for an elt schedule.
    #[arg(long, value_name = "TEXT")]
    pub extractor: Option<String>,

    /// Updated the loader for an elt schedule.
    #[arg(long, value_name = "TEXT")]
    pub loader: Option<String>,

    /// Update the transform flag for an elt schedule.
    #[arg(long, value_enum)]
    pub transform: Option<Transform>,
}

/// Manage state.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#state
#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,

    #[command(subcommand)]
    pub command: StateCommand,
}

/// The subcommands of `meltano state`, in click's (alphabetical) order.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Clear state.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano state clear [OPTIONS] [STATE_ID]")]
    Clear {
        /// The state ID to clear.
        #[arg(value_name = "STATE_ID")]
        state_id: Option<String>,
        /// Don't prompt for confirmation.
        #[arg(long)]
        force: bool,
        /// Clear all states IDs.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Copy state to another job ID.
    #[command(
        help_template = HELP_TEMPLATE,
        override_usage = "meltano state copy [OPTIONS] SRC_STATE_ID DST_STATE_ID"
    )]
    Copy {
        /// The state ID to copy from.
        #[arg(value_name = "SRC_STATE_ID")]
        src_state_id: String,
        /// The state ID to overwrite.
        #[arg(value_name = "DST_STATE_ID")]
        dst_state_id: String,
        /// Write the destination into this state backend instead of the project's (for example
        /// `s3://bucket/prefix` or `file:///dir`), with the project's `state_backend.*` settings for
        /// its credentials. Not in Meltano.
        #[arg(long, value_name = "URI")]
        to_uri: Option<String>,
        /// Don't prompt for confirmation.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Edit state in your default text editor.
    ///
    /// The state must be valid JSON with a top-level 'singer_state' key: { "singer_state": {
    /// "bookmarks": {...} } }
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano state edit [OPTIONS] STATE_ID")]
    Edit {
        /// The state ID to edit.
        #[arg(value_name = "STATE_ID")]
        state_id: String,
        /// Don't prompt for confirmation.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Export all state to JSON on stdout.
    ///
    /// Output is a JSON object mapping each state_id to its completed and partial state, suitable
    /// for piping into 'meltano state import'.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano state export [OPTIONS]")]
    Export,
    /// Get state.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano state get [OPTIONS] STATE_ID")]
    Get {
        /// The state ID to read.
        #[arg(value_name = "STATE_ID")]
        state_id: String,
        /// Output format: 'json' for compact single-line (default, ready for meltano state set),
        /// 'pretty' for human-readable indented format.
        #[arg(long, value_enum, ignore_case = true, default_value_t = StateFormat::Json)]
        format: StateFormat,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Import state from a JSON file (or stdin when no file is given).
    ///
    /// Reads the format produced by 'meltano state export' and overwrites any existing state for
    /// each state ID present in the input.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano state import [OPTIONS] [INPUT_FILE]")]
    Import {
        /// The file to read; `-` or nothing for stdin.
        #[arg(value_name = "INPUT_FILE")]
        input_file: Option<PathBuf>,
    },
    /// List all state_ids for this project.
    ///
    /// Optionally pass a glob-style pattern to filter state_ids by.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano state list [OPTIONS]")]
    List {
        /// Filter state IDs by pattern.
        #[arg(long, value_name = "TEXT")]
        pattern: Option<String>,
    },
    /// Add bookmarks to existing state.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano state merge [OPTIONS] STATE_ID [STATE]")]
    Merge {
        /// The state ID to merge into.
        #[arg(value_name = "STATE_ID")]
        state_id: String,
        /// The state to merge, as JSON with a top-level `singer_state`.
        #[arg(value_name = "STATE")]
        state: Option<String>,
        /// Merge state from an existing state ID.
        #[arg(long, value_name = "TEXT")]
        from_state_id: Option<String>,
        /// Merge state from a JSON file containing Singer state.
        #[arg(long, value_name = "PATH")]
        input_file: Option<PathBuf>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Move state to another job ID, clearing the original.
    #[command(
        help_template = HELP_TEMPLATE,
        override_usage = "meltano state move [OPTIONS] SRC_STATE_ID DST_STATE_ID"
    )]
    Move {
        /// The state ID to move (and clear).
        #[arg(value_name = "SRC_STATE_ID")]
        src_state_id: String,
        /// The state ID to overwrite.
        #[arg(value_name = "DST_STATE_ID")]
        dst_state_id: String,
        /// Write the destination into this state backend instead of the project's (for example
        /// `s3://bucket/prefix` or `file:///dir`), with the project's `state_backend.*` settings for
        /// its credentials. Not in Meltano.
        #[arg(long, value_name = "URI")]
        to_uri: Option<String>,
        /// Don't prompt for confirmation.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Set state.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano state set [OPTIONS] STATE_ID [STATE]")]
    Set {
        /// The state ID to overwrite.
        #[arg(value_name = "STATE_ID")]
        state_id: String,
        /// The state, as JSON with a top-level `singer_state`.
        #[arg(value_name = "STATE")]
        state: Option<String>,
        /// Don't prompt for confirmation.
        #[arg(long)]
        force: bool,
        /// Set state from json file containing Singer state.
        #[arg(long, value_name = "PATH")]
        input_file: Option<PathBuf>,
        /// Skip validation of state structure (not recommended).
        #[arg(long)]
        no_validate: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

impl StateCommand {
    /// The subcommand's name as typed, for usage errors.
    pub fn name(&self) -> &'static str {
        match self {
            StateCommand::Clear { .. } => "clear",
            StateCommand::Copy { .. } => "copy",
            StateCommand::Edit { .. } => "edit",
            StateCommand::Export => "export",
            StateCommand::Get { .. } => "get",
            StateCommand::Import { .. } => "import",
            StateCommand::List { .. } => "list",
            StateCommand::Merge { .. } => "merge",
            StateCommand::Move { .. } => "move",
            StateCommand::Set { .. } => "set",
        }
    }

    /// `--database-uri` given after the subcommand, which wins over the group's.
    pub fn database_uri(&self) -> Option<&str> {
        match self {
            StateCommand::Clear { db, .. }
            | StateCommand::Copy { db, .. }
            | StateCommand::Edit { db, .. }
            | StateCommand::Get { db, .. }
            | StateCommand::Merge { db, .. }
            | StateCommand::Move { db, .. }
            | StateCommand::Set { db, .. } => db.database_uri.as_deref(),
            StateCommand::Export | StateCommand::Import { .. } | StateCommand::List { .. } => None,
        }
    }
}

/// `--format` of `state get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateFormat {
    Json,
    Pretty,
}

/// Manage the plugins in your Meltano project.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#plugin
#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// The subcommands of `meltano plugin`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List the plugins in your project.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano plugin list [OPTIONS]")]
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,

        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// Display Meltano or plugin configuration.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#config
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Show sensitive values as `(redacted)` (the default).
    #[arg(long, overrides_with = "unsafe_")]
    pub safe: bool,

    /// Expose values for sensitive settings.
    #[arg(long = "unsafe")]
    pub unsafe_: bool,

    #[command(subcommand)]
    pub command: Option<ConfigCommand>,
}

/// Which plugin a `config` subcommand is about; `meltano` means the project itself.
#[derive(Debug, Clone, Args)]
pub struct ConfigTarget {
    /// The plugin type, when the name is ambiguous.
    #[arg(long, value_parser = PLUGIN_TYPES)]
    pub plugin_type: Option<String>,

    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Where `config set/unset/reset` write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SettingStore {
    /// The project's `.env` file.
    Dotenv,
    /// meltano.yml (or the active environment in it).
    #[value(name = "meltano_yml", alias = "meltano-yml")]
    MeltanoYml,
    /// The system database.
    Db,
    /// Pick per setting: secrets to `.env`, others to meltano.yml.
    Auto,
}

/// The subcommands of `meltano config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// List settings for the specified plugin with their names, environment variables, and current
    /// values.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano config list [OPTIONS] PLUGIN_NAME")]
    List {
        /// `meltano` for the project's own settings, else a plugin name.
        plugin_name: String,
        /// List only plugin extras.
        #[arg(long)]
        extras: bool,
        /// Show all settings, including optional settings at their default values.
        #[arg(long)]
        all: bool,
        /// Show only settings whose name contains SUBSTRING (case-insensitive).
        #[arg(long, value_name = "SUBSTRING")]
        filter: Option<String>,
        #[command(flatten)]
        target: ConfigTarget,
    },
    /// Print a plugin's configuration.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano config print [OPTIONS] PLUGIN_NAME")]
    Print {
        /// `meltano` for the project's own settings, else a plugin name.
        plugin_name: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PrintFormat::Json)]
        format: PrintFormat,
        /// View or list only plugin extras.
        #[arg(long)]
        extras: bool,
        #[command(flatten)]
        target: ConfigTarget,
    },
    /// Set the configurations' setting `<name>` to `<value>`.
    #[command(
        help_template = HELP_TEMPLATE,
        override_usage = "meltano config set [OPTIONS] [PLUGIN_NAME] [SETTING_NAME]... [VALUE]"
    )]
    Set {
        /// The plugin, the setting name (several words form a dotted path), and the value.
        #[arg(value_name = "ARGS")]
        args: Vec<String>,
        /// Ask for each setting's value.
        #[arg(long)]
        interactive: bool,
        /// Read the value from a file (the last argument is then the setting name).
        #[arg(long, value_name = "FILENAME")]
        from_file: Option<std::path::PathBuf>,
        /// Where to store the value.
        #[arg(long, value_enum, default_value_t = SettingStore::Auto)]
        store: SettingStore,
        #[command(flatten)]
        target: ConfigTarget,
    },
    /// Unset the configurations' setting called `<name>`.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano config unset [OPTIONS] PLUGIN_NAME SETTING_NAME...")]
    Unset {
        /// `meltano` for the project's own settings, else a plugin name.
        plugin_name: String,
        /// The setting (several words form a dotted path).
        #[arg(required = true)]
        setting_name: Vec<String>,
        /// Where to remove the value from.
        #[arg(long, value_enum, default_value_t = SettingStore::Auto)]
        store: SettingStore,
        #[command(flatten)]
        target: ConfigTarget,
    },
    /// Test the configuration of a plugin.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano config test [OPTIONS] PLUGIN_NAME")]
    Test {
        /// The extractor or loader to test.
        plugin_name: String,
        #[command(flatten)]
        install: InstallArgs,
        #[command(flatten)]
        target: ConfigTarget,
    },
    /// Clear the configuration (back to defaults).
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano config reset [OPTIONS] PLUGIN_NAME")]
    Reset {
        /// `meltano` for the project's own settings, else a plugin name.
        plugin_name: String,
        /// Where to clear values.
        #[arg(long, value_enum, default_value_t = SettingStore::Auto)]
        store: SettingStore,
        /// Confirm the action without prompting.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        target: ConfigTarget,
    },
}

/// `--install`, `--no-install`, `--only-install`: whether to install plugins before running.
#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    /// Install the subject plugin(s) automatically.
    #[arg(long, overrides_with_all = ["no_install", "only_install"])]
    pub install: bool,

    /// Do not install the subject plugin(s) automatically.
    #[arg(long)]
    pub no_install: bool,

    /// Only install the subject plugin(s).
    #[arg(long)]
    pub only_install: bool,
}

/// Interact with Meltano Hub.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#hub
#[derive(Debug, Args)]
pub struct HubArgs {
    #[command(subcommand)]
    pub command: HubCommand,
}

/// The subcommands of `meltano hub`.
#[derive(Debug, Subcommand)]
pub enum HubCommand {
    /// Ping Meltano Hub, to check that a custom Hub URL is reachable.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano hub ping [OPTIONS]")]
    Ping,
    /// List the plugins available on Meltano Hub.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano hub list [OPTIONS] [PATTERN]")]
    List {
        /// Only plugins whose name or variant contains PATTERN (case-insensitive).
        pattern: Option<String>,
        /// List only plugins of this type.
        #[arg(long, value_parser = PLUGIN_TYPES)]
        plugin_type: Option<String>,
        /// List every variant of each plugin, rather than only the default one.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Fetch a fresh index rather than a cached one.
        #[arg(long)]
        refresh: bool,
    },
}

/// Lock plugin definitions.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#lock
#[derive(Debug, Args)]
pub struct LockArgs {
    /// Only these plugins (default: all of them).
    #[arg(value_name = "PLUGIN_NAME")]
    pub plugins: Vec<String>,

    /// Lock only the plugins of the given type.
    #[arg(long, value_parser = PLUGIN_TYPES)]
    pub plugin_type: Option<String>,

    /// Update the lock file.
    #[arg(short = 'u', long)]
    pub update: bool,

    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Install all the dependencies of your project based on the meltano.yml file.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#install
#[derive(Debug, Args)]
pub struct InstallCommandArgs {
    /// Only these plugins (default: all of them).
    #[arg(value_name = "PLUGIN")]
    pub plugins: Vec<String>,

    /// Only plugins of this type.
    #[arg(long, value_parser = PLUGIN_TYPES)]
    pub plugin_type: Option<String>,

    /// Completely reinstall a plugin rather than simply upgrading if necessary.
    #[arg(long)]
    pub clean: bool,

    /// Limit the number of plugins to install in parallel. Defaults to the number of cores.
    #[arg(
        short = 'p',
        long,
        value_name = "INTEGER",
        allow_negative_numbers = true
    )]
    pub parallelism: Option<i64>,

    /// Ignore the required Python version declared by the plugins.
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Install all plugins from the given schedule.
    #[arg(short = 's', long, value_name = "TEXT")]
    pub schedule: Option<String>,

    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Invoke a plugin's executable with specified arguments.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#invoke
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// Print to stdout the value the plugin would get for this environment variable (repeatable).
    #[arg(long, value_name = "TEXT")]
    pub print_var: Vec<String>,

    /// The plugin type, when the name is ambiguous.
    #[arg(long, value_parser = PLUGIN_TYPES)]
    pub plugin_type: Option<String>,

    /// Print the content of the given file as the plugin would get it, and exit.
    #[arg(long, value_enum)]
    pub dump: Option<DumpKind>,

    /// Invalidates catalog cache and forces running discovery before invoke.
    #[arg(long)]
    pub refresh_catalog: bool,

    /// List the commands supported by the plugin.
    #[arg(long)]
    pub list_commands: bool,

    /// Execute plugins using containers where possible (not supported: plugins run directly).
    #[arg(long)]
    pub containers: bool,

    #[command(flatten)]
    pub install: InstallArgs,

    #[command(flatten)]
    pub db: DatabaseArgs,

    /// The plugin, optionally with one of its commands (`dbt:run`).
    #[arg(value_name = "PLUGIN_NAME[:COMMAND_NAME]")]
    pub plugin: String,

    /// Passed to the plugin as they are.
    #[arg(
        value_name = "PLUGIN_ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub plugin_args: Vec<String>,
}

/// What `invoke --dump` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DumpKind {
    Catalog,
    Config,
}

/// Manage extractor selection patterns.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#select
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// The extractor.
    pub extractor: String,
    /// Streams to select (glob, default `*`).
    #[arg(value_name = "STREAMS_FILTER")]
    pub streams: Option<String>,
    /// Properties to select (glob, default `*`).
    #[arg(value_name = "PROPERTIES_FILTER")]
    pub properties: Option<String>,
    /// List the current selected tap properties in plain text format.
    #[arg(long)]
    pub list: bool,
    /// List the current selected tap properties in JSON format.
    #[arg(long)]
    pub json: bool,
    /// Show all the tap properties with their selected status.
    #[arg(long)]
    pub all: bool,
    /// Invalidate the catalog cache and refresh the catalog.
    #[arg(long)]
    pub refresh_catalog: bool,
    /// Remove previously added select patterns.
    #[arg(long, alias = "remove")]
    pub rm: bool,
    /// Exclude all properties that match specified pattern.
    #[arg(long)]
    pub exclude: bool,
    /// Clear all select patterns for the extractor.
    #[arg(long)]
    pub clear: bool,
    #[command(flatten)]
    pub install: InstallArgs,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Run validations using plugins' tests.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#test
#[derive(Debug, Args)]
pub struct TestArgs {
    /// `plugin` (all its tests) or `plugin:test`.
    #[arg(value_name = "PLUGIN_TESTS")]
    pub plugin_tests: Vec<String>,

    /// Run all the tests of every plugin.
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub install: InstallArgs,

    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// `--format` of `config print`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrintFormat {
    Json,
    Env,
}

/// `--format` of listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Rewrites `--some_option` as `--some-option` (and `--a_b=x` as `--a-b=x`), as Meltano accepts both.
///
/// Only option names change; values and positional arguments are left alone, and everything after
/// a bare `--` is passed through untouched.
///
/// `meltano schedule NAME ...` also becomes `meltano schedule add NAME ...`, as `add` is the
/// default subcommand of `schedule`.
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // After `invoke [OPTIONS] PLUGIN`, everything belongs to the plugin and is left alone.
    let mut invoke = InvokeScan::NotInvoke;
    let mut after_double_dash = false;
    for arg in args {
        let passthrough = invoke == InvokeScan::PluginArgs || after_double_dash;
        after_double_dash |= arg == "--";
        let normalized = if passthrough || !arg.starts_with("--") {
            arg
        } else {
            match arg.split_once('=') {
                Some((name, value)) => format!("{}={value}", name.replace('_', "-")),
                None => arg.replace('_', "-"),
            }
        };
        invoke = invoke.next(&normalized, out.len());
        out.push(normalized);
    }
    route_schedule_default(&mut out);
    out
}

/// `meltano schedule NAME ...` is `meltano schedule add NAME ...`: `add` is the default subcommand
/// of `schedule` (click's DefaultGroup), used when the first argument after the group's options is
/// not one of its subcommands. In `meltano schedule run NAME ARGS...`, a `--` goes before `ARGS`
/// so that all of them (even `--help`) reach the command the schedule runs.
fn route_schedule_default(args: &mut Vec<String>) {
    if !args.iter().any(|a| a == "schedule") {
        return;
    }
    let cli = <Cli as clap::CommandFactory>::command();
    let Some(at) = first_positional(&cli, args, 1) else {
        return;
    };
    if args[at] != "schedule" {
        return;
    }
    let Some(schedule) = cli.find_subcommand("schedule") else {
        return;
    };
    let Some(first) = first_positional(schedule, args, at + 1) else {
        return;
    };
    if schedule.find_subcommand(&args[first]).is_none() {
        args.insert(first, "add".to_string());
        return;
    }
    // Everything after `schedule run NAME` belongs to the child, `--help` included.
    if args[first] == "run"
        && let Some(run) = schedule.find_subcommand("run")
        && let Some(name) = first_positional(run, args, first + 1)
        && args.get(name + 1).is_some_and(|next| next != "--")
    {
        args.insert(name + 1, "--".to_string());
    }
}

/// The index of the first argument from `start` that is not an option of `command` (or an
/// option's value); None at `--`, `--help` or the end.
fn first_positional(command: &clap::Command, args: &[String], start: usize) -> Option<usize> {
    let mut index = start;
    while let Some(arg) = args.get(index) {
        if arg == "--" || arg == "--help" || arg == "-h" {
            return None;
        }
        let Some(option) = arg.strip_prefix("--") else {
            if arg.starts_with('-') {
                index += 1;
                continue;
            }
            return Some(index);
        };
        let takes_value = !option.contains('=')
            && command
                .get_arguments()
                .any(|a| a.get_long() == Some(option) && a.get_action().takes_values());
        index += if takes_value { 2 } else { 1 };
    }
    None
}

/// Where `normalize_args` is in an `invoke` command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvokeScan {
    NotInvoke,
    /// Seen `invoke`; reading its options.
    Options,
    /// The last token was an option that takes a value.
    OptionValue,
    /// Past the plugin name.
    PluginArgs,
}

impl InvokeScan {
    const VALUE_OPTIONS: [&'static str; 4] =
        ["--print-var", "--plugin-type", "--dump", "--database-uri"];

    fn next(self, token: &str, index: usize) -> InvokeScan {
        match self {
            InvokeScan::NotInvoke if token == "invoke" && index > 0 => InvokeScan::Options,
            InvokeScan::Options if Self::VALUE_OPTIONS.contains(&token) => InvokeScan::OptionValue,
            InvokeScan::Options if token.starts_with('-') => InvokeScan::Options,
            InvokeScan::Options => InvokeScan::PluginArgs,
            InvokeScan::OptionValue => InvokeScan::Options,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn plugin_arguments_of_invoke_are_left_alone() {
        let args = [
            "meltano",
            "--log_level=debug",
            "invoke",
            "--print_var",
            "A_B",
            "tap_x",
            "--some_flag",
            "--x_y=1",
        ];
        let normalized = normalize_args(args.map(String::from));
        assert_eq!(
            normalized,
            [
                "meltano",
                "--log-level=debug",
                "invoke",
                "--print-var",
                "A_B",
                "tap_x",
                "--some_flag",
                "--x_y=1"
            ]
        );
        let parsed = Cli::try_parse_from(&normalized).unwrap();
        let Some(Command::Invoke(invoke)) = parsed.command else {
            panic!("not invoke")
        };
        assert_eq!(invoke.plugin, "tap_x");
        assert_eq!(invoke.plugin_args, ["--some_flag", "--x_y=1"]);
        assert_eq!(invoke.print_var, ["A_B"]);
    }

    #[test]
    fn underscores_in_option_names_become_dashes() {
        let args = [
            "meltano",
            "--log_level=debug",
            "add",
            "--plugin_type",
            "tap_x",
            "--",
            "--a_b",
        ];
        let normalized = normalize_args(args.map(String::from));
        assert_eq!(
            normalized,
            [
                "meltano",
                "--log-level=debug",
                "add",
                "--plugin-type",
                "tap_x",
                "--",
                "--a_b"
            ]
        );
    }

    fn normalized(line: &str) -> String {
        normalize_args(line.split(' ').map(String::from)).join(" ")
    }

    #[test]
    fn schedule_without_a_subcommand_adds() {
        for (given, expected) in [
            (
                "meltano schedule daily --job j --interval @daily",
                "meltano schedule add daily --job j --interval @daily",
            ),
            (
                "meltano --log-level debug --environment=dev schedule --database-uri x daily",
                "meltano --log-level debug --environment=dev schedule --database-uri x add daily",
            ),
            ("meltano schedule list", "meltano schedule list"),
            (
                "meltano schedule run daily --full-refresh",
                "meltano schedule run daily -- --full-refresh",
            ),
            ("meltano schedule run daily", "meltano schedule run daily"),
            ("meltano schedule run --help", "meltano schedule run --help"),
            (
                "meltano schedule run daily -- --help",
                "meltano schedule run daily -- --help",
            ),
            ("meltano schedule", "meltano schedule"),
            ("meltano schedule --help", "meltano schedule --help"),
            ("meltano run schedule x", "meltano run schedule x"),
            (
                "meltano --environment schedule job x",
                "meltano --environment schedule job x",
            ),
        ] {
            assert_eq!(normalized(given), expected);
        }
    }

    #[test]
    fn schedule_run_passes_every_argument_after_the_name_on() {
        let args = normalize_args(
            "meltano schedule run daily --help --full-refresh -f x"
                .split(' ')
                .map(String::from),
        );
        let parsed = Cli::try_parse_from(&args).unwrap();
        let Some(Command::Schedule(ScheduleArgs {
            command: ScheduleCommand::Run { name, elt_options },
            ..
        })) = parsed.command
        else {
            panic!("not schedule run")
        };
        assert_eq!(name, "daily");
        assert_eq!(elt_options, ["--help", "--full-refresh", "-f", "x"]);
    }
}

/// How a pipeline's state updates are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum StateStrategy {
    /// Complete state, except partial with `--full-refresh`.
    #[default]
    Auto,
    /// Each state is merged over the stored one (partial).
    Merge,
    /// Each state replaces the stored one (complete).
    Overwrite,
}

/// Run a set of command blocks in series.
///
/// Blocks are specified as either a list of plugin names or a job name. An example of a list of
/// plugin names is: `meltano run some_extractor some_loader some_plugin:some_optional_command`.
/// These are run in the order they are specified from left to right; a failure in any block
/// aborts the whole run.
///
/// Tap/target pairs are linked automatically, with any mappings between them: `meltano run
/// tap-gitlab hide-secrets target-postgres dbt:run tap-salesforce target-mysql`.
///
/// In an active environment, each extract/load pair keeps incremental state under the ID
/// `{environment.name}:{extractor_name}-to-{loader_name}(:{state-id-suffix})`.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#run
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Do not run, just parse the invocation, validate it, and explain what would be executed.
    #[arg(long, help_heading = "Run options")]
    pub dry_run: bool,

    /// Perform a full refresh (ignore state left behind by any previous runs). Applies to all pipelines.
    #[arg(
        long,
        env = "MELTANO_RUN_FULL_REFRESH",
        value_parser = EnvBool,
        help_heading = "Run options"
    )]
    pub full_refresh: bool,

    /// Invalidates catalog cache and forces running discovery before this run.
    #[arg(
        long,
        env = "MELTANO_RUN_REFRESH_CATALOG",
        value_parser = EnvBool,
        help_heading = "Run options"
    )]
    pub refresh_catalog: bool,

    /// Use a custom run ID.
    #[arg(
        long,
        value_name = "UUID",
        env = "MELTANO_RUN_ID",
        help_heading = "Run options"
    )]
    pub run_id: Option<String>,

    /// Maximum duration in seconds for the pipeline run. After this time, the pipeline will be gracefully terminated.
    #[arg(
        long,
        value_name = "INTEGER RANGE",
        env = "MELTANO_RUN_TIMEOUT",
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Run options"
    )]
    pub timeout: Option<u64>,

    /// Run without state saving. Applies to all pipelines.
    #[arg(
        long,
        env = "MELTANO_RUN_NO_STATE_UPDATE",
        value_parser = EnvBool,
        help_heading = "State options"
    )]
    pub no_state_update: bool,

    /// Force a new run even if a pipeline with the same State ID is already present. Applies to all pipelines.
    #[arg(
        short = 'f',
        long,
        env = "MELTANO_RUN_FORCE",
        value_parser = EnvBool,
        help_heading = "State options"
    )]
    pub force: bool,

    /// Define a custom suffix to autogenerate state IDs with.
    #[arg(
        long,
        value_name = "TEXT",
        env = "MELTANO_RUN_STATE_ID_SUFFIX",
        help_heading = "State options"
    )]
    pub state_id_suffix: Option<String>,

    /// Strategy to use for state updates.
    #[arg(
        long,
        value_enum,
        env = "MELTANO_RUN_STATE_STRATEGY",
        help_heading = "State options"
    )]
    pub state_strategy: Option<StateStrategy>,

    /// Deprecated: use `--state-strategy merge`.
    #[arg(long, hide = true)]
    pub merge_state: bool,

    #[command(flatten, next_help_heading = "Installation options")]
    pub install: InstallArgs,

    /// Plugin names (`tap-x`, `dbt:run`), mapping names and job names.
    #[arg(value_name = "BLOCKS", help_heading = "Global options")]
    pub blocks: Vec<String>,

    #[command(flatten, next_help_heading = "Global options")]
    pub db: DatabaseArgs,
}

/// What `el --dump` prints instead of running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ElDump {
    Catalog,
    State,
    ExtractorConfig,
    LoaderConfig,
}

/// Run an EL pipeline to Extract and Load data.
///
/// meltano el '<extractor_name>' '<loader_name>'
///
/// extractor_name: extractor to be used in this pipeline. loader_name: loader to be used in this pipeline.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#el
#[derive(Debug, Args)]
pub struct ElArgs {
    /// Do not actually run.
    #[arg(long)]
    pub dry: bool,

    /// Perform a full refresh (ignore state left behind by any previous runs).
    #[arg(long, env = "MELTANO_RUN_FULL_REFRESH", value_parser = EnvBool)]
    pub full_refresh: bool,

    /// Invalidates catalog cache and forces running discovery before this run.
    #[arg(long)]
    pub refresh_catalog: bool,

    /// Select only these specific entities for extraction.
    #[arg(short = 's', long, value_name = "TEXT")]
    pub select: Vec<String>,

    /// Exclude these specific entities from extraction.
    #[arg(short = 'e', long, value_name = "TEXT")]
    pub exclude: Vec<String>,

    /// Extractor catalog file.
    #[arg(long, value_name = "TEXT")]
    pub catalog: Option<String>,

    /// Extractor state file.
    #[arg(long, value_name = "TEXT")]
    pub state: Option<String>,

    /// Dump content of pipeline-specific generated file.
    #[arg(long, value_enum)]
    pub dump: Option<ElDump>,

    /// A custom string to identify the job.
    #[arg(long, value_name = "TEXT", env = "MELTANO_STATE_ID")]
    pub state_id: Option<String>,

    /// Force a new run even when a pipeline with the same state ID is already running.
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Deprecated: use `--state-strategy merge`.
    #[arg(long, hide = true)]
    pub merge_state: bool,

    /// Strategy to use for state updates.
    #[arg(long, value_enum)]
    pub state_strategy: Option<StateStrategy>,

    #[command(flatten)]
    pub install: InstallArgs,

    /// Provide a UUID to use as the run ID.
    #[arg(long, value_name = "UUID")]
    pub run_id: Option<String>,

    #[command(flatten)]
    pub db: DatabaseArgs,

    /// The extractor.
    pub extractor: String,

    /// The loader.
    pub loader: String,
}

/// Whether `elt` runs a transformation after extract and load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Transform {
    #[default]
    Skip,
    Only,
    Run,
}

/// Run an ELT pipeline to Extract, Load, and Transform data.
///
/// meltano elt '<extractor_name>' '<loader_name>'
///
/// extractor_name: extractor to be used in this pipeline. loader_name: loader to be used in this pipeline.
///
/// Read more at https://docs.meltano.com/reference/command-line-interface#elt
#[derive(Debug, Args)]
pub struct EltArgs {
    /// Whether to run a transformation after extract and load (deprecated; use `meltano run`).
    #[arg(long, value_enum, default_value_t = Transform::Skip)]
    pub transform: Transform,

    #[command(flatten)]
    pub el: ElArgs,
}

/// View and manage Meltano job logs.
#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(subcommand)]
    pub command: LogsCommand,
}

/// The subcommands of `meltano logs`.
#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Show the directory of the logs.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano logs dir [OPTIONS]")]
    Dir {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// List recent job runs with their log information.
    ///
    /// Shows a table of recent runs with their metadata including job name, run ID, status,
    /// timing, and log availability.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano logs list [OPTIONS]")]
    List {
        /// Number of recent runs to show (default: 10).
        #[arg(short = 'l', long, value_name = "INTEGER", default_value_t = 10)]
        limit: i64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Show log content for a specific run.
    ///
    /// LOG_ID is the run ID (UUID) of the job, which you can get from 'meltano logs list'.
    #[command(help_template = HELP_TEMPLATE, override_usage = "meltano logs show [OPTIONS] LOG_ID")]
    Show {
        /// The run ID.
        #[arg(value_name = "LOG_ID")]
        log_id: String,
        /// Show last N lines of the log.
        #[arg(short = 'n', long, value_name = "INTEGER")]
        tail: Option<usize>,
        /// Output format for job metadata.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}
