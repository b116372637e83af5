//! The overall state of a command, computed from its resource and target updates.

use crate::model::{CommandState, FormaCommand, ResourceUpdateState, TargetUpdateState};

/// The command state that the resource and target updates imply (reference 2.2, D5).
///
/// Any target NotStarted or InProgress, or any resource update not final, gives InProgress.
/// Otherwise Canceled beats Failed (a Failed target or a Failed or Rejected resource), which
/// beats Success. A command with nothing in it is Success.
pub fn overall_state(command: &FormaCommand) -> CommandState {
    let mut canceled = false;
    let mut failed = false;
    for t in &command.target_updates {
        match t.state {
            TargetUpdateState::NotStarted | TargetUpdateState::InProgress => {
                return CommandState::InProgress;
            }
            TargetUpdateState::Failed => failed = true,
            TargetUpdateState::Canceled => canceled = true,
            _ => {}
        }
    }
    for ru in &command.resource_updates {
        match ru.state {
            ResourceUpdateState::Canceled => canceled = true,
            ResourceUpdateState::Failed | ResourceUpdateState::Rejected => failed = true,
            ResourceUpdateState::Success => {}
            _ => return CommandState::InProgress,
        }
    }
    if canceled {
        CommandState::Canceled
    } else if failed {
        CommandState::Failed
    } else {
        CommandState::Success
    }
}

#[cfg(test)]
mod tests {
    use super::overall_state;
    use crate::model::{
        CommandState, FormaCommand, ResourceUpdate, ResourceUpdateState as R, TargetUpdate,
        TargetUpdateState as T,
    };

    fn check(resources: &[R], targets: &[T], expected: CommandState) {
        let command = FormaCommand {
            resource_updates: resources
                .iter()
                .map(|s| ResourceUpdate { state: *s, ..ResourceUpdate::default() })
                .collect(),
            target_updates: targets
                .iter()
                .map(|s| TargetUpdate { state: *s, ..TargetUpdate::default() })
                .collect(),
            ..FormaCommand::default()
        };
        assert_eq!(
            overall_state(&command),
            expected,
            "resources {resources:?} targets {targets:?}"
        );
    }

    #[test]
    fn table() {
        use CommandState::*;
        check(&[], &[], Success);
        check(&[R::Success], &[], Success);
        check(&[R::Success, R::NotStarted], &[], InProgress);
        check(&[R::Success, R::Unspecified], &[], InProgress);
        check(&[R::Success, R::Unknown], &[], InProgress);
        check(&[R::Pending], &[], InProgress);
        check(&[R::Failed, R::Success], &[], Failed);
        check(&[R::Rejected], &[], Failed);
        check(&[R::Failed, R::Canceled], &[], Canceled);
        check(&[R::Canceled, R::InProgress], &[], InProgress);
        check(&[], &[T::Success], Success);
        check(&[], &[T::NotStarted], InProgress);
        check(&[R::Success], &[T::InProgress], InProgress);
        check(&[R::Success], &[T::Failed], Failed);
        check(&[R::Failed], &[T::Canceled], Canceled);
        check(&[R::Success], &[T::Unspecified], Success);
        check(&[R::NotStarted], &[T::Failed], InProgress);
    }
}
