//! CPU time of processes, from `/proc/<pid>/stat`: how much of a core the
//! runner and moto use while a benchmark runs (or while nothing does).

use std::time::{Duration, Instant};

/// Linux reports process times in `USER_HZ` ticks, 100 a second on every
/// architecture Rust targets here (`sysconf(_SC_CLK_TCK)`).
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU time of `pid` (`None`: this process) so far.
fn cpu_time(pid: Option<u32>) -> anyhow::Result<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(&path)?;
    // The command name is in parentheses and may hold spaces: count fields
    // after its closing one (utime and stime are fields 14 and 15).
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow::anyhow!("{path} has no command name"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(index)
            .ok_or_else(|| anyhow::anyhow!("{path} is short"))?
            .parse::<f64>()?)
    };
    // Fields after the name start at field 3 (state).
    let (utime, stime) = (ticks(14 - 3)?, ticks(15 - 3)?);
    Ok(Duration::from_secs_f64((utime + stime) / TICKS_PER_SECOND))
}

/// moto's CPU time so far; nothing for a stack without it.
fn moto_time(pid: Option<u32>) -> anyhow::Result<Duration> {
    pid.map_or(Ok(Duration::ZERO), |pid| cpu_time(Some(pid)))
}

/// The share of one core the runner (this process: the stack, and the
/// benchmark's clients when it has any) and moto used over a stretch of time.
pub struct CpuShare {
    pub runner: f64,
    pub moto: f64,
}

impl CpuShare {
    pub fn total(&self) -> f64 {
        self.runner + self.moto
    }
}

/// Started before the stretch to measure; [`CpuMeter::stop`] after it.
pub struct CpuMeter {
    /// `None`: a stack without moto (its share is 0).
    moto_pid: Option<u32>,
    started: Instant,
    runner: Duration,
    moto: Duration,
}

impl CpuMeter {
    pub fn start(moto_pid: Option<u32>) -> anyhow::Result<Self> {
        Ok(Self {
            moto_pid,
            started: Instant::now(),
            runner: cpu_time(None)?,
            moto: moto_time(moto_pid)?,
        })
    }

    pub fn stop(self) -> anyhow::Result<CpuShare> {
        let wall = self.started.elapsed().as_secs_f64();
        let runner = cpu_time(None)?.saturating_sub(self.runner).as_secs_f64();
        let moto = moto_time(self.moto_pid)?.saturating_sub(self.moto).as_secs_f64();
        Ok(CpuShare {
            runner: runner / wall,
            moto: moto / wall,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spins until the process has been charged 100 ms of CPU, which a
    /// busy machine may take far longer than 100 ms of wall time to grant:
    /// the charge must come, and never exceed the wall time on every core.
    #[test]
    fn this_process_is_charged_for_its_own_work() {
        let before = cpu_time(None).unwrap();
        let started = Instant::now();
        let mut x = 0u64;
        let mut spent = Duration::ZERO;
        while spent < Duration::from_millis(100) && started.elapsed() < Duration::from_secs(60) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            spent = cpu_time(None).unwrap() - before;
        }
        let wall = started.elapsed();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        assert!(
            spent >= Duration::from_millis(100),
            "{spent:?} of CPU in {wall:?} of spinning"
        );
        assert!(
            spent <= wall * cores + Duration::from_millis(20),
            "{spent:?} of CPU in {wall:?} on {cores} cores"
        );
    }
}
